"""held payment method tokens (a save-card workflow's token stays out of Temporal); Stripe client
secrets dropped from the payments projection (the API reads them from Stripe)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_payment_method_tokens",
        sa.Column("payment_method_id", sa.String(64), primary_key=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )
    drop_secret = {
        "sqlite": "json_remove(next_action, '$.client_secret')",
        "postgresql": "(next_action::jsonb - 'client_secret')::json",
    }[op.get_bind().dialect.name]
    op.execute(
        f"UPDATE payments SET next_action = {drop_secret} "  # noqa: S608 (constant SQL)
        "WHERE next_action IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("held_payment_method_tokens")
