"""The double-entry ledger: post a transaction, read balances, check the books, list movements.

``post`` is the only writer of entries and the only writer of an account's cached ``balance``, and
writes both in the caller's transaction: the cache can never disagree with the entries it sums.
Every transaction it writes sums to zero per currency (an unbalanced one is refused before
anything is written), and is written once by its id, so a retried writer posts nothing twice.

A customer's debit is a conditional ``UPDATE … SET balance = balance + :amount WHERE balance +
:amount >= 0``: on PostgreSQL the row lock makes a concurrent debit wait and re-check the
condition; on SQLite the update is the transaction's first write lock, which serializes writers.
Either way two debits can never both spend the same balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.ids import derive_hex_id
from db.models import LedgerAccount, LedgerEntry, LedgerTransaction
from db.repositories.writes import insert_once, update_rows

PLATFORM = "platform"
"""The holder of an account's own counter-accounts (may go negative: they mirror customers').
Their balances are not cached: every consume of every customer posts to the same counter-account,
and a cached balance there would be one row all of them queue on. Theirs is the sum of entries."""


class AccountKind:
    """Kinds of ledger account: a customer's three, and the platform's counter-accounts."""

    CREDITS = "credits"
    WALLET_AVAILABLE = "wallet_available"
    WALLET_LOCKED = "wallet_locked"
    CREDITS_ISSUED = "credits_issued"
    """Credits sold: minus every credit ever granted by a purchase."""
    CREDITS_USED = "credits_used"
    """Credits consumed: plus every credit customers spent."""
    WALLET_FUNDING = "wallet_funding"
    """Money deposited less money paid back: minus what customers' wallets hold."""


class TransactionType:
    CREDIT_PURCHASE = "credit_purchase"
    CREDIT_CONSUME = "credit_consume"
    CREDIT_TRANSFER = "credit_transfer"
    WALLET_DEPOSIT = "wallet_deposit"
    WITHDRAWAL_LOCK = "withdrawal_lock"
    WITHDRAWAL_SETTLE = "withdrawal_settle"
    WITHDRAWAL_RELEASE = "withdrawal_release"


STATEMENT_TYPES = {
    TransactionType.CREDIT_PURCHASE: "credit",
    TransactionType.CREDIT_CONSUME: "credit",
    TransactionType.CREDIT_TRANSFER: "credit",
    TransactionType.WALLET_DEPOSIT: "deposit",
    TransactionType.WITHDRAWAL_LOCK: "withdrawal",
    TransactionType.WITHDRAWAL_SETTLE: "withdrawal",
    TransactionType.WITHDRAWAL_RELEASE: "withdrawal",
}


@dataclass(frozen=True)
class AccountKey:
    """One ledger account by what it is; its id is derived from that, so every writer (the API,
    an activity) names the same row without reading it first."""

    account_id: str
    holder: str
    kind: str
    currency: str

    @property
    def id(self) -> str:
        return derive_hex_id("la_", self.account_id, self.holder, self.kind, self.currency)


@dataclass(frozen=True)
class Posting:
    """One entry of a transaction. ``floor``/``ceiling`` bound a customer account's balance
    after it: a posting that would cross one refuses the whole transaction (``LimitReached``).
    The platform's counter-accounts have no cached balance, so no bounds."""

    account: AccountKey
    amount: int
    floor: int | None = None
    ceiling: int | None = None


@dataclass(frozen=True)
class NewTransaction:
    id: str
    account_id: str
    customer_id: str
    type: str
    reference: str
    created_at: datetime
    request_hash: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Unbalanced(ValueError):
    """A bug: a transaction whose entries do not sum to zero in some currency."""


class LimitReached(Exception):
    """A posting would take its account below its floor or above its ceiling."""

    def __init__(self, account: AccountKey, *, below_floor: bool) -> None:
        super().__init__(f"{account.kind} {account.id}: {'floor' if below_floor else 'ceiling'}")
        self.account = account
        self.below_floor = below_floor


def require_balanced(postings: Sequence[Posting]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.account.currency] += posting.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced or not postings:
        raise Unbalanced(f"entries must sum to zero per currency, got {unbalanced or 'none'}")


async def post(
    session: AsyncSession, transaction: NewTransaction, postings: Sequence[Posting]
) -> bool:
    """Write ``transaction`` and its entries and move the cached balances, once: False (and
    nothing written) when a transaction with this id exists already. Raises ``LimitReached``
    with nothing of it kept once the caller rolls back."""
    require_balanced(postings)
    if not await insert_once(
        session,
        LedgerTransaction,
        {
            "id": transaction.id,
            "account_id": transaction.account_id,
            "customer_id": transaction.customer_id,
            "type": transaction.type,
            "reference": transaction.reference,
            "request_hash": transaction.request_hash,
            "details": transaction.details,
            "created_at": transaction.created_at,
        },
    ):
        return False
    for posting in sorted(postings, key=lambda p: p.account.id):
        await ensure_account(session, posting.account, transaction.created_at)
        if posting.account.holder != PLATFORM:
            await _move_balance(session, posting)
    session.add_all(
        LedgerEntry(
            transaction_id=transaction.id,
            ledger_account_id=posting.account.id,
            amount=posting.amount,
            currency=posting.account.currency,
        )
        for posting in postings
    )
    await session.flush()
    return True


async def ensure_account(session: AsyncSession, key: AccountKey, at: datetime) -> None:
    await insert_once(
        session,
        LedgerAccount,
        {
            "id": key.id,
            "account_id": key.account_id,
            "holder": key.holder,
            "kind": key.kind,
            "currency": key.currency,
            "balance": 0,
            "created_at": at,
        },
    )


async def _move_balance(session: AsyncSession, posting: Posting) -> None:
    statement = (
        update(LedgerAccount)
        .where(LedgerAccount.id == posting.account.id)
        .values(balance=LedgerAccount.balance + posting.amount)
    )
    if posting.floor is not None:
        statement = statement.where(LedgerAccount.balance + posting.amount >= posting.floor)
    if posting.ceiling is not None:
        statement = statement.where(LedgerAccount.balance + posting.amount <= posting.ceiling)
    if not await update_rows(session, statement):
        raise LimitReached(posting.account, below_floor=posting.amount < 0)


async def balance(session: AsyncSession, key: AccountKey) -> int:
    """The account's balance (its cache, written with every entry); 0 before its first entry."""
    found = await session.scalar(select(LedgerAccount.balance).where(LedgerAccount.id == key.id))
    return int(found or 0)


async def balances_of(session: AsyncSession, account_id: str, holder: str) -> list[LedgerAccount]:
    """Every ledger account of one holder, by kind and currency."""
    rows = await session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.account_id == account_id, LedgerAccount.holder == holder)
        .order_by(LedgerAccount.currency, LedgerAccount.kind)
    )
    return list(rows)


async def total_by_type(session: AsyncSession, key: AccountKey, transaction_type: str) -> int:
    """The sum of the account's entries in transactions of one type (lifetime figures)."""
    found = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.ledger_account_id == key.id, LedgerTransaction.type == transaction_type)
    )
    return int(found or 0)


async def get_transaction(session: AsyncSession, transaction_id: str) -> LedgerTransaction | None:
    return await session.get(LedgerTransaction, transaction_id)


@dataclass(frozen=True)
class AccountMovement:
    """A transaction as one ledger account saw it: its signed amount there."""

    transaction: LedgerTransaction
    amount: int


async def movements_of_account(
    session: AsyncSession,
    key: AccountKey,
    *,
    limit: int | None = None,
    starting_after: str | None = None,
) -> tuple[list[AccountMovement], bool]:
    """The account's transactions, newest first, each with its amount on this account."""
    query = (
        select(LedgerTransaction, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.ledger_account_id == key.id)
        .group_by(LedgerTransaction.id)
        .order_by(LedgerTransaction.created_at.desc(), LedgerTransaction.id.desc())
    )
    if starting_after is not None:
        cursor = await session.get(LedgerTransaction, starting_after)
        if cursor is not None:
            query = query.where(
                or_(
                    LedgerTransaction.created_at < cursor.created_at,
                    and_(
                        LedgerTransaction.created_at == cursor.created_at,
                        LedgerTransaction.id < cursor.id,
                    ),
                )
            )
    if limit is not None:
        query = query.limit(limit + 1)
    rows = [AccountMovement(row[0], int(row[1])) for row in (await session.execute(query)).all()]
    if limit is not None and len(rows) > limit:
        return rows[:limit], True
    return rows, False


@dataclass(frozen=True)
class LedgerCheck:
    """The books of one account: every transaction balanced per currency, every cached balance
    equal to its entries, no customer account below zero."""

    transactions: int
    imbalanced: list[str]
    mismatched_balances: list[str]
    negative_balances: list[str]

    @property
    def ok(self) -> bool:
        return not (self.imbalanced or self.mismatched_balances or self.negative_balances)


async def check(session: AsyncSession, account_id: str) -> LedgerCheck:
    counted = await session.scalar(
        select(func.count()).where(LedgerTransaction.account_id == account_id)
    )
    imbalanced = await session.scalars(
        select(LedgerTransaction.id)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.account_id == account_id)
        .group_by(LedgerTransaction.id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount) != 0)
        .distinct()
    )
    entry_sum = func.coalesce(func.sum(LedgerEntry.amount), 0)
    mismatched = await session.scalars(
        select(LedgerAccount.id)
        .outerjoin(LedgerEntry, LedgerEntry.ledger_account_id == LedgerAccount.id)
        .where(LedgerAccount.account_id == account_id, LedgerAccount.holder != PLATFORM)
        .group_by(LedgerAccount.id, LedgerAccount.balance)
        .having(LedgerAccount.balance != entry_sum)
    )
    negative = await session.scalars(
        select(LedgerAccount.id).where(
            LedgerAccount.account_id == account_id,
            LedgerAccount.holder != PLATFORM,
            LedgerAccount.balance < 0,
        )
    )
    return LedgerCheck(
        transactions=int(counted or 0),
        imbalanced=sorted(imbalanced),
        mismatched_balances=sorted(mismatched),
        negative_balances=sorted(negative),
    )


@dataclass(frozen=True)
class LedgerMovement:
    """One line of a customer's statement: a transaction's net effect on what they hold in
    one currency (credits are the currency ``CREDITS``)."""

    at: datetime
    type: str
    """``credit``, ``deposit`` or ``withdrawal``."""
    reference: str
    """The ``ctx_…`` (credits), payment (deposit) or ``wd_…`` (withdrawal) id."""
    amount: int
    """Signed, in the currency's minor units: what the customer holds grew (+) or shrank (-)."""


async def ledger_movements(
    session: AsyncSession,
    account_id: str,
    customer_id: str,
    currency: str,
    start: datetime,
    end: datetime,
) -> list[LedgerMovement]:
    """The customer's ledger movements in ``currency`` with ``start <= at < end``, oldest first.

    A wallet's available and locked balances count together (what the customer holds), so
    locking a withdrawal is no movement; settling it is (the money left), and a released one
    nets to nothing. Transactions that net to zero for the customer are left out."""
    net = func.sum(LedgerEntry.amount)
    rows = await session.execute(
        select(
            LedgerTransaction.created_at,
            LedgerTransaction.type,
            LedgerTransaction.reference,
            LedgerTransaction.id,
            net,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .where(
            LedgerAccount.account_id == account_id,
            LedgerAccount.holder == customer_id,
            LedgerAccount.currency == currency.upper(),
            LedgerTransaction.created_at >= start,
            LedgerTransaction.created_at < end,
        )
        .group_by(
            LedgerTransaction.id,
            LedgerTransaction.created_at,
            LedgerTransaction.type,
            LedgerTransaction.reference,
        )
        .having(net != 0)
        .order_by(LedgerTransaction.created_at, LedgerTransaction.id)
    )
    return [
        LedgerMovement(at=at, type=STATEMENT_TYPES[kind], reference=reference, amount=int(amount))
        for at, kind, reference, _id, amount in rows.all()
    ]


async def statement_sources(session: AsyncSession, customer_id: str) -> list[tuple[str, str]]:
    """The ``(account_id, currency)`` of every ledger account the customer holds."""
    rows = await session.execute(
        select(LedgerAccount.account_id, LedgerAccount.currency)
        .where(LedgerAccount.holder == customer_id)
        .distinct()
    )
    return [(account_id, currency) for account_id, currency in rows.all()]
