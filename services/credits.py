"""Credits (seed 001): purchase through a payment, atomic consumption and transfers, history.

A consume or transfer is one database transaction in the request: its ledger transaction (id
derived from the Idempotency-Key) is written first, then the balances move by conditional updates
that refuse to take a customer below zero (``db.repositories.ledger``), then the entries. A short
balance rolls all of it back: 402 with nothing taken. A purchase is a ``FundingWorkflow`` whose
payment grants the credits once it succeeds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ledger import CREDITS, FundingKind
from db.models import LedgerFunding
from db.repositories import customers as customers_repo
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories.ledger import AccountMovement, LimitReached, TransactionType
from db.repositories.ledger_moves import CreditMove, credits_of
from services import errors
from services.idempotency import derive_id, request_hash
from services.ledger import FundingRequest, fund, require_same_request
from services.outcome import Outcome
from services.ownership import own_customer
from services.runtime import Runtime

USD = "USD"
CENTS_PER_DOLLAR = 100


@dataclass(frozen=True)
class CreditBalance:
    balance: int
    lifetime_purchased: int
    lifetime_consumed: int


async def get_credits(runtime: Runtime, account_id: str, customer_id: str) -> CreditBalance:
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        return await credit_balance(session, account_id, customer_id)


async def credit_balance(session: AsyncSession, account_id: str, customer_id: str) -> CreditBalance:
    """The balance and the lifetime figures, all sums of the customer's credit entries."""
    key = credits_of(account_id, customer_id)
    return CreditBalance(
        balance=await ledger_repo.balance(session, key),
        lifetime_purchased=await ledger_repo.total_by_type(
            session, key, TransactionType.CREDIT_PURCHASE
        ),
        lifetime_consumed=-await ledger_repo.total_by_type(
            session, key, TransactionType.CREDIT_CONSUME
        ),
    )


async def purchase_credits(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    credits: int,
    payment_method_id: str,
    idempotency_key: str,
) -> Outcome[LedgerFunding]:
    """A payment of ``credits / DURAPAY_CREDITS_PER_DOLLAR`` dollars; the credits are granted
    once, when it succeeds."""
    settings = runtime.settings
    if credits < settings.credits_min_purchase:
        raise errors.CreditsBelowMinimum(
            f"The smallest purchase is {settings.credits_min_purchase} credits."
        )
    cents, remainder = divmod(credits * CENTS_PER_DOLLAR, settings.credits_per_dollar)
    if remainder:
        raise errors.ValidationFailed(
            f"{credits} credits do not cost a whole number of cents "
            f"({settings.credits_per_dollar} credits a dollar)."
        )
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        held = await ledger_repo.balance(session, credits_of(account_id, customer_id))
    funding_id = derive_id("ctx_", account_id, customer_id, "purchase", idempotency_key)
    fingerprint = request_hash({"credits": credits, "payment_method_id": payment_method_id})
    if held + credits > settings.credits_max_balance:
        async with runtime.database.reading() as session:
            recorded = await ledger_moves.get_funding(session, funding_id)
        if recorded is None:
            raise errors.CreditBalanceLimit(
                f"A customer holds at most {settings.credits_max_balance} credits "
                f"({held} held now)."
            )
    return await fund(
        runtime,
        account_id,
        FundingRequest(
            kind=FundingKind.CREDITS,
            customer_id=customer_id,
            amount=credits,
            currency=CREDITS,
            charge=cents,
            charge_currency=USD,
            payment_method_id=payment_method_id,
            fingerprint=fingerprint,
        ),
        funding_id,
    )


async def consume_credits(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    credits: int,
    reason: str,
    idempotency_key: str,
) -> Outcome[AccountMovement]:
    """Take ``credits`` now, or refuse (402) with nothing taken."""
    move = _move(account_id, customer_id, "consume", idempotency_key, credits, reason=reason)
    try:
        return await _apply(
            runtime, move, lambda session: ledger_moves.consume_credits(session, move, reason)
        )
    except LimitReached:
        raise errors.InsufficientCredits(
            f"Customer {customer_id} has fewer than {credits} credits; nothing was taken."
        ) from None


async def transfer_credits(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    to_customer_id: str,
    credits: int,
    idempotency_key: str,
) -> Outcome[AccountMovement]:
    """Move ``credits`` to another customer of the account, all or nothing."""
    if to_customer_id == customer_id:
        raise errors.ValidationFailed("A transfer goes to another customer.")
    move = _move(account_id, customer_id, "transfer", idempotency_key, credits, to=to_customer_id)
    limit = runtime.settings.credits_max_balance

    async def give(session: AsyncSession) -> bool:
        recipient = await customers_repo.get_customer(session, to_customer_id, account_id)
        if recipient is None:
            raise errors.CustomerNotFound(f"No customer {to_customer_id}.")
        return await ledger_moves.transfer_credits(session, move, to_customer_id, limit)

    try:
        return await _apply(runtime, move, give)
    except LimitReached as refused:
        if refused.below_floor:
            raise errors.InsufficientCredits(
                f"Customer {customer_id} has fewer than {credits} credits; nothing moved."
            ) from None
        raise errors.CreditBalanceLimit(
            f"Customer {to_customer_id} would hold more than {limit} credits; nothing moved."
        ) from None


async def list_credit_transactions(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[AccountMovement], bool]:
    """The customer's credit movements (purchases granted, consumes, transfers both ways),
    newest first, each signed as it changed their balance."""
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        return await ledger_repo.movements_of_account(
            session,
            credits_of(account_id, customer_id),
            limit=limit,
            starting_after=starting_after,
        )


def _move(
    account_id: str,
    customer_id: str,
    kind: str,
    idempotency_key: str,
    credits: int,
    **body: str,
) -> CreditMove:
    return CreditMove(
        transaction_id=derive_id("ctx_", account_id, customer_id, kind, idempotency_key),
        account_id=account_id,
        customer_id=customer_id,
        credits=credits,
        request_hash=request_hash({"kind": kind, "credits": credits, **body}),
        at=datetime.now(UTC),
    )


async def _apply(
    runtime: Runtime, move: CreditMove, change: Callable[[AsyncSession], Awaitable[bool]]
) -> Outcome[AccountMovement]:
    """A consume or a transfer in one transaction: the customer's own, the ``change`` (``True``
    when it wrote the move, ``False`` when its Idempotency-Key had), then the transaction the key
    names, which must be this same request's."""
    async with runtime.database.writing() as session:
        await own_customer(session, move.account_id, move.customer_id)
        created = await change(session)
        transaction = await ledger_repo.get_transaction(session, move.transaction_id)
    assert transaction is not None
    require_same_request(transaction.request_hash, move.request_hash)
    return Outcome(AccountMovement(transaction, -move.credits), created=created)
