"""invoice numbers, mail attachments, receipt requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as invoices:
        invoices.add_column(sa.Column("number", sa.String(32), nullable=True))
        invoices.create_unique_constraint("uq_invoices_number", ["account_id", "number"])
    op.create_table(
        "invoice_number_counters",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mail_key", sa.String(255), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_mail_attachments_mail_key", "mail_attachments", ["mail_key"])
    op.create_table(
        "receipt_requests",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipt_requests")
    op.drop_index("ix_mail_attachments_mail_key", table_name="mail_attachments")
    op.drop_table("mail_attachments")
    op.drop_table("invoice_number_counters")
    with op.batch_alter_table("invoices") as invoices:
        invoices.drop_constraint("uq_invoices_number", type_="unique")
        invoices.drop_column("number")
