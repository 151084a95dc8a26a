"""The ledger's shared services: fundings (a purchase or deposit paid by a payment), the books'
check, and a customer's movements for statements.

A funding is recorded (``pending``) before its workflow starts, in one short transaction, and the
workflow is started (or joined) outside it: a request repeated after a crash between the two finds
the row and starts the workflow then. The payment is built by ``services.payments.payment_input``,
the same checks as ``POST /v1/payments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.ledger import FundingInput, FundingKind, FundingStatus
from db.models import LedgerFunding
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories.ledger import LedgerCheck, LedgerMovement
from money import format_amount
from services import errors, temporal
from services.idempotency import derive_id
from services.outcome import Outcome
from services.ownership import own_customer
from services.payments import PaymentRequest, payment_input
from services.runtime import Runtime


@dataclass(frozen=True)
class FundingRequest:
    """A purchase or deposit as its service understood it: what it grants, what it charges."""

    kind: FundingKind
    customer_id: str
    amount: int
    """Credits, or the deposit's minor units."""
    currency: str
    """``CREDITS`` or the deposit's currency."""
    charge: int
    charge_currency: str
    payment_method_id: str
    fingerprint: str


async def fund(
    runtime: Runtime, account_id: str, request: FundingRequest, funding_id: str
) -> Outcome[LedgerFunding]:
    """Record the funding, start its workflow (or join it) and wait a bounded time for its
    payment to settle; the same Idempotency-Key with another body is refused."""
    payment_id = derive_id("pay_", account_id, funding_id)
    now = datetime.now(UTC)
    async with runtime.database.writing() as session:
        await own_customer(session, account_id, request.customer_id)
        recorded = await ledger_moves.get_funding(session, funding_id)
        if recorded is not None:
            require_same_request(recorded.request_hash, request.fingerprint)
            if recorded.status != FundingStatus.PENDING:
                return Outcome(recorded, created=False)
        payment = await payment_input(
            session,
            account_id,
            runtime.settings,
            PaymentRequest(
                amount=request.charge,
                currency=request.charge_currency,
                customer_id=request.customer_id,
                payment_method_id=request.payment_method_id,
                provider=None,
                capture_method="automatic",
                description=f"{request.kind.value} {funding_id}",
                metadata={"funding_id": funding_id},
                return_url=None,
            ),
            payment_id,
            request.fingerprint,
        )
        if recorded is None:
            await ledger_moves.add_funding(
                session,
                LedgerFunding(
                    id=funding_id,
                    account_id=account_id,
                    customer_id=request.customer_id,
                    kind=request.kind.value,
                    amount=request.amount,
                    currency=request.currency,
                    payment_id=payment_id,
                    status=FundingStatus.PENDING.value,
                    request_hash=request.fingerprint,
                    created_at=now,
                    updated_at=now,
                ),
            )
    await temporal.start_funding(
        runtime.client,
        runtime.settings.task_queue,
        FundingInput(
            funding_id=funding_id,
            kind=request.kind,
            account_id=account_id,
            customer_id=request.customer_id,
            amount=request.amount,
            currency=request.currency,
            payment=payment,
        ),
        f"{request.kind.value.capitalize()} {funding_id}: "
        f"{format_amount(request.charge, request.charge_currency)} {request.charge_currency} "
        f"for {request.customer_id}",
        runtime.settings.payment_settle_wait.total_seconds(),
    )
    async with runtime.database.reading() as session:
        funding = await ledger_moves.get_funding(session, funding_id)
    if funding is None:
        raise errors.ServiceUnavailable("The funding is not readable yet; retry later.")
    return Outcome(funding, created=recorded is None)


def require_same_request(recorded: str | None, fingerprint: str) -> None:
    """The same Idempotency-Key with another body is refused (409)."""
    if recorded != fingerprint:
        raise errors.IdempotencyKeyReused()


async def check_ledger(runtime: Runtime, account_id: str) -> LedgerCheck:
    """The caller's account's books: balanced transactions, balances equal to their entries."""
    async with runtime.database.reading() as session:
        return await ledger_repo.check(session, account_id)


async def ledger_movements(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    currency: str,
    start: datetime,
    end: datetime,
) -> list[LedgerMovement]:
    """A customer's ledger movements in one currency (``CREDITS`` for credits) with
    ``start <= at < end``, oldest first: for statements."""
    async with runtime.database.reading() as session:
        return await ledger_repo.ledger_movements(
            session, account_id, customer_id, currency, start, end
        )
