"""risk: account rules, limit reservations and their per-customer lock rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_rules",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "limit_usage",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_limit_usage_customer_month", "limit_usage", ["customer_id", "currency", "month"]
    )
    op.create_table(
        "limit_counters",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("reservations", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("limit_counters")
    op.drop_index("ix_limit_usage_customer_month", table_name="limit_usage")
    op.drop_table("limit_usage")
    op.drop_table("risk_rules")
