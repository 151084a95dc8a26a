"""The double-entry ledger under credits and wallets, and the requests that move money into and
out of it (fundings, withdrawals).

Every movement is a ``LedgerTransaction`` whose ``LedgerEntry`` rows sum to zero per currency.
A ``LedgerAccount`` belongs to a customer (credits, wallet available, wallet locked) or to the
platform (its counter-accounts); a customer account's ``balance`` is a cache of the sum of its
entries, written only in the transaction that writes those entries (``ledger.post``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("account_id", "holder", "kind", "currency", name="uq_ledger_accounts"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Derived from (account, holder, kind, currency): every writer names the same row."""
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    holder: Mapped[str] = mapped_column(String(64))
    """A customer id, or ``platform`` for the account's own counter-accounts."""
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(8))
    balance: Mapped[int] = mapped_column(BigInteger)
    """A customer account's cached sum of entries; 0 on the platform's (never cached there)."""
    created_at: Mapped[datetime]


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index("ix_ledger_transactions_customer_created", "customer_id", "created_at"),
        Index("ix_ledger_transactions_account_created", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The idempotency of every ledger write: a transaction is posted once by its id."""
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    """What it belongs to: the ``ctx_…`` or ``wd_…`` id, or a deposit's payment id."""
    request_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    ledger_account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))


class LedgerFunding(Base):
    """A credits purchase (``ctx_…``) or a wallet deposit (``dep_…``) and its payment."""

    __tablename__ = "ledger_fundings"
    __table_args__ = (Index("ix_ledger_fundings_customer_created", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    payment_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WalletWithdrawal(Base):
    __tablename__ = "wallet_withdrawals"
    __table_args__ = (Index("ix_wallet_withdrawals_customer_created", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    refunded: Mapped[int] = mapped_column(BigInteger)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WithdrawalRefund(Base):
    """One deposit a withdrawal is paid back through; ``released`` ones no longer hold any of
    the deposit, so a later withdrawal may refund it again."""

    __tablename__ = "wallet_withdrawal_refunds"

    refund_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    withdrawal_id: Mapped[str] = mapped_column(ForeignKey("wallet_withdrawals.id"), index=True)
    payment_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
