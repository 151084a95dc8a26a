"""Credits and wallets as ledger postings: what each movement debits and credits, and the rows
that track a funding or a withdrawal while its payment or refunds are under way.

Each function runs in the caller's transaction and is safe to repeat: a movement is posted once
by its transaction id, and a funding or withdrawal changes status only from ``pending``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ledger import (
    CREDITS,
    DepositRefundResult,
    FundingKind,
    FundingStatus,
    PlannedRefund,
    WithdrawalStatus,
)
from db.models import LedgerFunding, Payment, WalletWithdrawal, WithdrawalRefund
from db.repositories.ledger import (
    PLATFORM,
    AccountKey,
    AccountKind,
    NewTransaction,
    Posting,
    TransactionType,
    post,
)
from db.repositories.paging import all_newest_first, get_owned
from db.repositories.writes import insert_once, unsaved_values, update_rows

RELEASED = "released"
REFUNDED = "refunded"
PENDING = "pending"


def credits_of(account_id: str, customer_id: str) -> AccountKey:
    return AccountKey(account_id, customer_id, AccountKind.CREDITS, CREDITS)


def wallet_of(account_id: str, customer_id: str, currency: str, *, locked: bool) -> AccountKey:
    kind = AccountKind.WALLET_LOCKED if locked else AccountKind.WALLET_AVAILABLE
    return AccountKey(account_id, customer_id, kind, currency)


def platform(account_id: str, kind: str, currency: str) -> AccountKey:
    return AccountKey(account_id, PLATFORM, kind, currency)


# ---------------------------------------------------------------------------------- credits


@dataclass(frozen=True)
class CreditMove:
    """A consume or transfer as the API asked it; ``transaction_id`` is derived from its key."""

    transaction_id: str
    account_id: str
    customer_id: str
    credits: int
    request_hash: str
    at: datetime

    def transaction(self, type: str, details: dict[str, str]) -> NewTransaction:
        """The move's one transaction: named and referenced by its own id, so a repeated
        request finds it posted."""
        return NewTransaction(
            id=self.transaction_id,
            account_id=self.account_id,
            customer_id=self.customer_id,
            type=type,
            reference=self.transaction_id,
            created_at=self.at,
            request_hash=self.request_hash,
            details=details,
        )


async def consume_credits(session: AsyncSession, move: CreditMove, reason: str) -> bool:
    """Take ``credits`` from the customer, never below zero (``LimitReached`` otherwise)."""
    return await post(
        session,
        move.transaction(TransactionType.CREDIT_CONSUME, {"reason": reason}),
        [
            Posting(credits_of(move.account_id, move.customer_id), -move.credits, floor=0),
            Posting(platform(move.account_id, AccountKind.CREDITS_USED, CREDITS), move.credits),
        ],
    )


async def transfer_credits(
    session: AsyncSession, move: CreditMove, to_customer_id: str, max_balance: int
) -> bool:
    """Move ``credits`` to another customer of the account: the sender never below zero, the
    recipient never above ``max_balance`` (``LimitReached`` otherwise)."""
    return await post(
        session,
        move.transaction(
            TransactionType.CREDIT_TRANSFER,
            {"from_customer_id": move.customer_id, "to_customer_id": to_customer_id},
        ),
        [
            Posting(credits_of(move.account_id, move.customer_id), -move.credits, floor=0),
            Posting(credits_of(move.account_id, to_customer_id), move.credits, ceiling=max_balance),
        ],
    )


# ---------------------------------------------------------------------------------- fundings


async def add_funding(session: AsyncSession, funding: LedgerFunding) -> bool:
    """Record a purchase or deposit before its workflow starts; False if it exists already."""
    return await insert_once(session, LedgerFunding, unsaved_values(funding))


async def get_funding(
    session: AsyncSession, funding_id: str, account_id: str | None = None
) -> LedgerFunding | None:
    return await get_owned(session, LedgerFunding, funding_id, account_id)


async def fundings_of_customer(
    session: AsyncSession, customer_id: str, kind: FundingKind | None = None
) -> list[LedgerFunding]:
    query = select(LedgerFunding).where(LedgerFunding.customer_id == customer_id)
    if kind is not None:
        query = query.where(LedgerFunding.kind == kind.value)
    return await all_newest_first(session, query, LedgerFunding)


async def settle_funding(
    session: AsyncSession, funding_id: str, succeeded: bool, at: datetime
) -> FundingStatus:
    """Grant what the funding's succeeded payment bought, or mark it failed: once, however
    often a retried activity calls this."""
    funding = await get_funding(session, funding_id)
    if funding is None:
        raise LookupError(f"no funding {funding_id}")
    if funding.status != FundingStatus.PENDING:
        return FundingStatus(funding.status)
    if succeeded:
        await post(session, _grant(funding, at), _grant_postings(funding))
    status = FundingStatus.SUCCEEDED if succeeded else FundingStatus.FAILED
    await update_rows(
        session,
        update(LedgerFunding)
        .where(LedgerFunding.id == funding_id, LedgerFunding.status == FundingStatus.PENDING)
        .values(status=status.value, updated_at=at),
    )
    return status


def _grant(funding: LedgerFunding, at: datetime) -> NewTransaction:
    credits = funding.kind == FundingKind.CREDITS
    return NewTransaction(
        id=funding.id,
        account_id=funding.account_id,
        customer_id=funding.customer_id,
        type=TransactionType.CREDIT_PURCHASE if credits else TransactionType.WALLET_DEPOSIT,
        reference=funding.id if credits else funding.payment_id,
        created_at=at,
        details={"payment_id": funding.payment_id},
    )


def _grant_postings(funding: LedgerFunding) -> list[Posting]:
    account, customer, amount = funding.account_id, funding.customer_id, funding.amount
    if funding.kind == FundingKind.CREDITS:
        return [
            Posting(credits_of(account, customer), amount),
            Posting(platform(account, AccountKind.CREDITS_ISSUED, CREDITS), -amount),
        ]
    return [
        Posting(wallet_of(account, customer, funding.currency, locked=False), amount),
        Posting(platform(account, AccountKind.WALLET_FUNDING, funding.currency), -amount),
    ]


# ---------------------------------------------------------------------------------- withdrawals


async def get_withdrawal(
    session: AsyncSession, withdrawal_id: str, account_id: str | None = None
) -> WalletWithdrawal | None:
    return await get_owned(session, WalletWithdrawal, withdrawal_id, account_id)


async def withdrawals_of_customer(
    session: AsyncSession, customer_id: str
) -> list[WalletWithdrawal]:
    return await all_newest_first(
        session,
        select(WalletWithdrawal).where(WalletWithdrawal.customer_id == customer_id),
        WalletWithdrawal,
    )


async def planned_refunds(session: AsyncSession, withdrawal_id: str) -> list[PlannedRefund]:
    rows = await session.scalars(
        select(WithdrawalRefund)
        .where(WithdrawalRefund.withdrawal_id == withdrawal_id)
        .order_by(WithdrawalRefund.position)
    )
    return [PlannedRefund(row.payment_id, row.refund_id, row.amount) for row in rows]


async def lock_withdrawal(
    session: AsyncSession, withdrawal: WalletWithdrawal, refund_id_for: Callable[[str], str]
) -> bool:
    """Record the withdrawal, move its amount from available to locked (``LimitReached`` when
    available is short) and plan its refunds from the deposits oldest first; False (nothing
    written) when it exists already. ``refund_id_for(payment_id)`` names each refund. A part no
    deposit can pay back any more is planned on none: finishing the withdrawal releases it."""
    if not await insert_once(session, WalletWithdrawal, unsaved_values(withdrawal)):
        return False
    account, customer, currency = withdrawal.account_id, withdrawal.customer_id, withdrawal.currency
    await post(
        session,
        _withdrawal_step(
            withdrawal, "lock", TransactionType.WITHDRAWAL_LOCK, withdrawal.created_at
        ),
        [
            Posting(
                wallet_of(account, customer, currency, locked=False), -withdrawal.amount, floor=0
            ),
            Posting(wallet_of(account, customer, currency, locked=True), withdrawal.amount),
        ],
    )
    remaining = withdrawal.amount
    deposits = await refundable_deposits(session, account, customer, currency)
    for position, (payment_id, refundable) in enumerate(deposits):
        if remaining <= 0:
            break
        amount = min(refundable, remaining)
        session.add(
            WithdrawalRefund(
                refund_id=refund_id_for(payment_id),
                withdrawal_id=withdrawal.id,
                payment_id=payment_id,
                position=position,
                amount=amount,
                status=PENDING,
            )
        )
        remaining -= amount
    await session.flush()
    return True


async def refundable_deposits(
    session: AsyncSession, account_id: str, customer_id: str, currency: str
) -> list[tuple[str, int]]:
    """The customer's succeeded deposits in ``currency``, oldest first, each with what can still
    be paid back through it: what no withdrawal holds of it yet (released refunds hold nothing),
    and no more than its payment has left to refund (a merchant may have refunded some of it
    through the payments API) less what pending withdrawals are about to refund."""
    held = (
        select(
            WithdrawalRefund.payment_id,
            func.sum(WithdrawalRefund.amount).label("all_held"),
            func.sum(
                case((WithdrawalRefund.status == PENDING, WithdrawalRefund.amount), else_=0)
            ).label("pending"),
        )
        .where(WithdrawalRefund.status != RELEASED)
        .group_by(WithdrawalRefund.payment_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            LedgerFunding.payment_id,
            LedgerFunding.amount - func.coalesce(held.c.all_held, 0),
            func.coalesce(Payment.amount_captured - Payment.amount_refunded, 0)
            - func.coalesce(held.c.pending, 0),
        )
        .outerjoin(held, held.c.payment_id == LedgerFunding.payment_id)
        .outerjoin(Payment, Payment.id == LedgerFunding.payment_id)
        .where(
            LedgerFunding.account_id == account_id,
            LedgerFunding.customer_id == customer_id,
            LedgerFunding.kind == FundingKind.WALLET.value,
            LedgerFunding.currency == currency,
            LedgerFunding.status == FundingStatus.SUCCEEDED.value,
        )
        .order_by(LedgerFunding.created_at, LedgerFunding.id)
    )
    refundable = [(payment_id, min(int(a), int(b))) for payment_id, a, b in rows.all()]
    return [(payment_id, left) for payment_id, left in refundable if left > 0]


async def finish_withdrawal(
    session: AsyncSession,
    withdrawal_id: str,
    results: Sequence[DepositRefundResult],
    at: datetime,
) -> WalletWithdrawal:
    """Settle what the refunds paid back (locked → gone) and release the rest (locked →
    available): ``succeeded`` when all of it was refunded, ``failed`` otherwise. Once."""
    withdrawal = await get_withdrawal(session, withdrawal_id)
    if withdrawal is None:
        raise LookupError(f"no withdrawal {withdrawal_id}")
    if withdrawal.status != WithdrawalStatus.PENDING:
        return withdrawal
    account, customer, currency = withdrawal.account_id, withdrawal.customer_id, withdrawal.currency
    locked = wallet_of(account, customer, currency, locked=True)
    refunded = sum(result.amount for result in results if result.refunded)
    rest = withdrawal.amount - refunded
    if refunded:
        await post(
            session,
            _withdrawal_step(withdrawal, "settle", TransactionType.WITHDRAWAL_SETTLE, at),
            [
                Posting(locked, -refunded, floor=0),
                Posting(platform(account, AccountKind.WALLET_FUNDING, currency), refunded),
            ],
        )
    if rest:
        await post(
            session,
            _withdrawal_step(withdrawal, "release", TransactionType.WITHDRAWAL_RELEASE, at),
            [
                Posting(locked, -rest, floor=0),
                Posting(wallet_of(account, customer, currency, locked=False), rest),
            ],
        )
    for result in results:
        await update_rows(
            session,
            update(WithdrawalRefund)
            .where(WithdrawalRefund.refund_id == result.refund_id)
            .values(status=REFUNDED if result.refunded else RELEASED),
        )
    status = WithdrawalStatus.SUCCEEDED if rest == 0 else WithdrawalStatus.FAILED
    await update_rows(
        session,
        update(WalletWithdrawal)
        .where(WalletWithdrawal.id == withdrawal_id, WalletWithdrawal.status == PENDING)
        .values(status=status.value, refunded=refunded, updated_at=at),
    )
    await session.refresh(withdrawal)
    return withdrawal


def _withdrawal_step(
    withdrawal: WalletWithdrawal, step: str, kind: str, at: datetime
) -> NewTransaction:
    return NewTransaction(
        id=f"{withdrawal.id}:{step}",
        account_id=withdrawal.account_id,
        customer_id=withdrawal.customer_id,
        type=kind,
        reference=withdrawal.id,
        created_at=at,
    )


async def wallet_payment_ids(session: AsyncSession, customer_id: str) -> tuple[set[str], set[str]]:
    """The customer's deposit payments and the refunds that paid withdrawals back: their money
    is on the statement as the wallet's own deposit and withdrawal lines."""
    deposits = await session.scalars(
        select(LedgerFunding.payment_id).where(
            LedgerFunding.customer_id == customer_id, LedgerFunding.kind == FundingKind.WALLET.value
        )
    )
    refunds = await session.scalars(
        select(WithdrawalRefund.refund_id)
        .join(WalletWithdrawal, WalletWithdrawal.id == WithdrawalRefund.withdrawal_id)
        .where(WalletWithdrawal.customer_id == customer_id)
    )
    return set(deposits), set(refunds)
