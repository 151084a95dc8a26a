"""double-entry ledger: accounts, transactions, entries; credits purchases, wallet deposits and
withdrawals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("account_id", "holder", "kind", "currency", name="uq_ledger_accounts"),
    )
    op.create_index("ix_ledger_accounts_account_id", "ledger_accounts", ["account_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _at("created_at"),
    )
    op.create_index(
        "ix_ledger_transactions_customer_created",
        "ledger_transactions",
        ["customer_id", "created_at"],
    )
    op.create_index(
        "ix_ledger_transactions_account_created", "ledger_transactions", ["account_id", "created_at"]
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "transaction_id",
            sa.String(64),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        sa.Column(
            "ledger_account_id", sa.String(64), sa.ForeignKey("ledger_accounts.id"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
    )
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_ledger_account_id", "ledger_entries", ["ledger_account_id"])
    op.create_table(
        "ledger_fundings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_ledger_fundings_payment_id", "ledger_fundings", ["payment_id"])
    op.create_index(
        "ix_ledger_fundings_customer_created", "ledger_fundings", ["customer_id", "created_at"]
    )
    op.create_table(
        "wallet_withdrawals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index(
        "ix_wallet_withdrawals_customer_created",
        "wallet_withdrawals",
        ["customer_id", "created_at"],
    )
    op.create_table(
        "wallet_withdrawal_refunds",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column(
            "withdrawal_id", sa.String(64), sa.ForeignKey("wallet_withdrawals.id"), nullable=False
        ),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index(
        "ix_wallet_withdrawal_refunds_withdrawal_id", "wallet_withdrawal_refunds", ["withdrawal_id"]
    )
    op.create_index(
        "ix_wallet_withdrawal_refunds_payment_id", "wallet_withdrawal_refunds", ["payment_id"]
    )


def downgrade() -> None:
    op.drop_table("wallet_withdrawal_refunds")
    op.drop_table("wallet_withdrawals")
    op.drop_table("ledger_fundings")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_accounts")
