"""Wallets (seed 003): per currency, ``available`` and ``locked`` ledger accounts of a customer.

A deposit is a ``FundingWorkflow`` whose payment credits ``available`` once it succeeds. A
withdrawal is locked at once, in the request's own transaction: its record, the move from
available to locked (refused with 402 and nothing written when available is short) and the plan
of refunds (the deposits that funded the wallet, oldest first) are one commit. Only then does its
``WithdrawalWorkflow`` (ID = the ``wd_…`` id) carry the refunds out and settle or release it. A
request repeated after a crash between the commit and the start finds the lock and starts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ledger import FundingKind, WithdrawalInput, WithdrawalStatus
from db.models import LedgerFunding, Payment, WalletWithdrawal
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories import payments as payments_repo
from db.repositories.ledger import AccountKind, LimitReached
from money import format_amount
from services import errors, temporal
from services.idempotency import derive_id, request_hash
from services.ledger import FundingRequest, fund, require_same_request
from services.outcome import Outcome
from services.ownership import own_customer
from services.runtime import Runtime


@dataclass(frozen=True)
class WalletBalance:
    currency: str
    available: int
    locked: int

    @property
    def total(self) -> int:
        return self.available + self.locked


@dataclass(frozen=True)
class WalletTransaction:
    """A deposit or a withdrawal as the wallet's history shows it."""

    id: str
    type: str
    amount: int
    currency: str
    status: str
    payment_id: str | None
    refunded: int | None
    created_at: datetime


async def get_wallet(runtime: Runtime, account_id: str, customer_id: str) -> list[WalletBalance]:
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        return await wallet_balances(session, account_id, customer_id)


async def wallet_balances(
    session: AsyncSession, account_id: str, customer_id: str
) -> list[WalletBalance]:
    """Per currency, the customer's available and locked ledger balances."""
    accounts = await ledger_repo.balances_of(session, account_id, customer_id)
    by_currency: dict[str, dict[str, int]] = {}
    for account in accounts:
        if account.kind in (AccountKind.WALLET_AVAILABLE, AccountKind.WALLET_LOCKED):
            by_currency.setdefault(account.currency, {})[account.kind] = account.balance
    return [
        WalletBalance(
            currency=currency,
            available=kinds.get(AccountKind.WALLET_AVAILABLE, 0),
            locked=kinds.get(AccountKind.WALLET_LOCKED, 0),
        )
        for currency, kinds in sorted(by_currency.items())
    ]


async def deposit(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    amount: int,
    currency: str,
    payment_method_id: str,
    idempotency_key: str,
) -> Outcome[Payment]:
    """A payment into the wallet; ``available`` grows once it succeeds. Answers the payment."""
    funding_id = derive_id("dep_", account_id, customer_id, "deposit", idempotency_key)
    outcome = await fund(
        runtime,
        account_id,
        FundingRequest(
            kind=FundingKind.WALLET,
            customer_id=customer_id,
            amount=amount,
            currency=currency,
            charge=amount,
            charge_currency=currency,
            payment_method_id=payment_method_id,
            fingerprint=request_hash(
                {"amount": amount, "currency": currency, "payment_method_id": payment_method_id}
            ),
        ),
        funding_id,
    )
    async with runtime.database.reading() as session:
        payment = await payments_repo.get_payment(session, outcome.resource.payment_id)
    if payment is None:
        raise errors.ServiceUnavailable("The deposit's payment is not readable yet; retry later.")
    return Outcome(payment, created=outcome.created)


async def withdraw(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    amount: int,
    currency: str,
    idempotency_key: str,
) -> Outcome[WalletWithdrawal]:
    """Lock ``amount`` now (402 ``insufficient_funds`` otherwise) and start paying it back."""
    withdrawal_id = derive_id("wd_", account_id, customer_id, "withdrawal", idempotency_key)
    now = datetime.now(UTC)
    fingerprint = request_hash({"amount": amount, "currency": currency})
    try:
        async with runtime.database.writing() as session:
            await own_customer(session, account_id, customer_id)
            created = await ledger_moves.lock_withdrawal(
                session,
                WalletWithdrawal(
                    id=withdrawal_id,
                    account_id=account_id,
                    customer_id=customer_id,
                    amount=amount,
                    currency=currency,
                    status=WithdrawalStatus.PENDING.value,
                    refunded=0,
                    request_hash=fingerprint,
                    created_at=now,
                    updated_at=now,
                ),
                lambda payment_id: derive_id("re_", account_id, withdrawal_id, payment_id),
            )
            withdrawal = await ledger_moves.get_withdrawal(session, withdrawal_id)
            refunds = await ledger_moves.planned_refunds(session, withdrawal_id)
    except LimitReached:
        raise errors.InsufficientFunds(
            f"Less than {format_amount(amount, currency)} {currency} is available; "
            "nothing was locked."
        ) from None
    assert withdrawal is not None
    require_same_request(withdrawal.request_hash, fingerprint)
    if withdrawal.status == WithdrawalStatus.PENDING:
        await temporal.start_withdrawal(
            runtime.client,
            runtime.settings.task_queue,
            WithdrawalInput(
                withdrawal_id=withdrawal_id,
                account_id=account_id,
                customer_id=customer_id,
                amount=amount,
                currency=currency,
                refunds=refunds,
            ),
            f"Withdrawal {withdrawal_id}: {format_amount(amount, currency)} {currency} "
            f"for {customer_id}",
        )
    return Outcome(withdrawal, created=created)


async def list_wallet_transactions(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    *,
    type_filter: str | None,
    status: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[WalletTransaction], bool]:
    """Deposits and withdrawals, newest first, filtered by type and status."""
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        unfiltered = await wallet_history(session, customer_id)
    rows = [
        row
        for row in unfiltered
        if (type_filter is None or row.type == type_filter)
        and (status is None or row.status == status)
    ]
    if starting_after is not None:
        ids = [row.id for row in rows]
        rows = rows[ids.index(starting_after) + 1 :] if starting_after in ids else rows
    return rows[:limit], len(rows) > limit


async def wallet_history(session: AsyncSession, customer_id: str) -> list[WalletTransaction]:
    """Every deposit and withdrawal of the customer, newest first."""
    rows = await _deposits_then_withdrawals(session, customer_id)
    rows.sort(key=lambda row: (row.created_at, row.id), reverse=True)
    return rows


async def _deposits_then_withdrawals(
    session: AsyncSession, customer_id: str
) -> list[WalletTransaction]:
    """The deposits, then the withdrawals, each in its repository's order (not merged by date)."""
    deposits = await ledger_moves.fundings_of_customer(session, customer_id, FundingKind.WALLET)
    withdrawals = await ledger_moves.withdrawals_of_customer(session, customer_id)
    return [_deposit(row) for row in deposits] + [_withdrawal(row) for row in withdrawals]


def _deposit(funding: LedgerFunding) -> WalletTransaction:
    return WalletTransaction(
        id=funding.id,
        type="deposit",
        amount=funding.amount,
        currency=funding.currency,
        status=funding.status,
        payment_id=funding.payment_id,
        refunded=None,
        created_at=funding.created_at,
    )


def _withdrawal(withdrawal: WalletWithdrawal) -> WalletTransaction:
    return WalletTransaction(
        id=withdrawal.id,
        type="withdrawal",
        amount=withdrawal.amount,
        currency=withdrawal.currency,
        status=withdrawal.status,
        payment_id=None,
        refunded=withdrawal.refunded,
        created_at=withdrawal.created_at,
    )
