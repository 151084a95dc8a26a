"""Payments: what a request to create, read, capture, cancel or refund one means.

Every change of a payment is an update of its own workflow (one writer per money object); this
module checks what a request needs (the caller owns the payment; the customer and its saved method
exist; some provider can take it), builds the workflow's input and reads the projection. Each
database read is a short session closed before any Temporal call: a cancel may wait on the
provider for as long as it is unreachable, and must not hold a connection while it does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.payments import (
    CancelRequest,
    CaptureRequest,
    PaymentInput,
    PaymentStatus,
    PaymentView,
    RefundRequest,
    RefundView,
)
from contracts.providers import CaptureMethod, ProviderName
from contracts.workflow_names import PaymentUpdate
from db.models import Payment, PaymentEvent, PaymentMethod, Refund
from db.repositories import payments as payments_repo
from db.repositories import receipts as receipts_repo
from money import NotRepresentable, format_amount, representable, require_representable
from services import errors, temporal
from services.customers import customer_to_charge, refuse_erased, usable_method
from services.idempotency import derive_id, random_id, request_hash
from services.outcome import Outcome
from services.ownership import owned
from services.risk import require_within_single_limit, risk_terms
from services.runtime import Runtime
from services.terms import payment_timeouts
from settings import Settings

SETTLED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELED})
"""A payment in one of these has nothing more to settle: a repeated create answers its record."""


@dataclass(frozen=True)
class PaymentRequest:
    """A ``POST /v1/payments`` body as the API validated it. Its fields are the body's, so its
    fingerprint is the body's: the same key with another body is refused."""

    amount: int
    currency: str
    customer_id: str
    payment_method_id: str | None
    provider: str | None
    capture_method: str
    description: str | None
    metadata: dict[str, str]
    return_url: str | None
    receipt_email: bool = False

    def fingerprint(self) -> str:
        """The body's hash; ``receipt_email`` counts only when asked for, so a body that leaves
        it out has the fingerprint it had before the field existed (retries across a deploy)."""
        body = asdict(self)
        if not self.receipt_email:
            del body["receipt_email"]
        return request_hash(body)


@dataclass(frozen=True)
class PaymentOutcome(Outcome[Payment | PaymentView]):
    """The payment as recorded (a settled repeat, or a closed workflow) or as its workflow
    answered; ``processing`` when the bounded wait ended before it settled (202)."""

    @property
    def processing(self) -> bool:
        return self.resource.status == PaymentStatus.PROCESSING


async def create_payment(
    runtime: Runtime, account_id: str, request: PaymentRequest, idempotency_key: str
) -> PaymentOutcome:
    """Start the payment's workflow (or find it again) and wait a bounded time for it to settle."""
    payment_id = derive_id("pay_", account_id, "payment", idempotency_key)
    fingerprint = request.fingerprint()
    async with runtime.database.reading() as session:
        known = await payments_repo.start_rows(
            session,
            payment_id=payment_id,
            account_id=account_id,
            customer_id=request.customer_id,
            method_id=request.payment_method_id,
        )
        recorded = known.recorded if known else await payments_repo.get_payment(session, payment_id)
        if recorded is not None:
            _require_same_request(recorded, fingerprint)
            if recorded.status in SETTLED:
                return PaymentOutcome(recorded, created=False)
        payment = await payment_input(
            session, account_id, runtime.settings, request, payment_id, fingerprint, known
        )
    if request.receipt_email:
        async with runtime.database.writing() as session:
            await receipts_repo.request_receipt(session, payment_id, datetime.now(UTC))
    started = await temporal.start_payment(
        runtime.client,
        runtime.settings.task_queue,
        payment,
        _summary(payment),
        runtime.settings.payment_settle_wait.total_seconds(),
    )
    if started.payment is None:
        return await _recorded_outcome(runtime, payment_id, fingerprint)
    runtime.metrics.payments.labels(started.payment.status.value).inc()
    return PaymentOutcome(started.payment, created=started.created)


def _require_same_request(recorded: Payment, fingerprint: str) -> None:
    if recorded.request_hash != fingerprint:
        raise errors.IdempotencyKeyReused()


def _summary(payment: PaymentInput) -> str:
    """The workflow's summary for operators: IDs and amounts, never personal data."""
    kind = "Saved-method payment" if payment.payment_method_id else "Checkout"
    amount = format_amount(payment.amount, payment.currency)
    return f"{kind} {amount} {payment.currency} for {payment.customer_id}"


async def payment_input(
    session: AsyncSession,
    account_id: str,
    settings: Settings,
    request: PaymentRequest,
    payment_id: str,
    fingerprint: str,
    known: payments_repo.StartRows | None = None,
) -> PaymentInput:
    """The workflow input of a new payment, checked (the customer, its saved method, a provider
    that takes it): for ``POST /v1/payments`` and for the payments a purchase or deposit starts.
    ``known`` is the customer and method already read (``payments_repo.start_rows``); without
    it, or when it holds no usable method, they are read and refused here as they always are."""
    if known is None:
        customer = await customer_to_charge(session, account_id, request.customer_id)
    else:
        customer = known.customer
        refuse_erased(customer)
    require_within_single_limit(settings, customer, request.amount, request.currency)
    provider = ProviderName(request.provider) if request.provider else None
    method_ref: str | None = None
    if request.payment_method_id is not None:
        method = known.method if known is not None else None
        if method is None or not _is_live_method_of(method, customer.id):
            method = await usable_method(
                session, customer.id, request.payment_method_id, errors.PaymentMethodNotFound
            )
        if provider is not None and provider != method.provider:
            raise errors.ProviderNotAvailable(
                f"Payment method {method.id} belongs to {method.provider}, not {provider}."
            )
        provider = ProviderName(method.provider)
        method_ref = method.provider_token
    _require_provider_for(settings, request, provider, has_method=method_ref is not None)
    return PaymentInput(
        payment_id=payment_id,
        account_id=account_id,
        request_hash=fingerprint,
        amount=request.amount,
        currency=request.currency,
        customer_id=customer.id,
        provider=provider,
        capture_method=CaptureMethod(request.capture_method),
        timeouts=payment_timeouts(settings),
        created_at=datetime.now(UTC),
        payment_method_id=request.payment_method_id,
        provider_customer_ref=customer.reference_at(provider) if provider else None,
        provider_customer_refs={
            name: ref
            for name in settings.routing_priority
            if (ref := customer.reference_at(name)) is not None
        }
        if provider is None
        else {},
        payment_method_ref=method_ref,
        description=request.description,
        metadata=request.metadata,
        return_url=request.return_url,
        risk=await risk_terms(session, settings, account_id, customer, request.currency),
    )


def _is_live_method_of(method: PaymentMethod, customer_id: str) -> bool:
    """``usable_method``'s test; a method that fails it is read again by ``usable_method``,
    which refuses it with the detail it always gave."""
    return method.customer_id == customer_id and method.deleted_at is None


def _require_provider_for(
    settings: Settings, request: PaymentRequest, provider: ProviderName | None, *, has_method: bool
) -> None:
    """Refuse, before anything starts, a payment no provider could take, in its currency or
    exactly in its amount. A checkout with no provider named is placed later by the routing
    rules, which leave out the providers that cannot; here it only needs one that could."""
    if provider is not None:
        if request.currency not in settings.provider_currencies(provider):
            raise errors.ProviderNotAvailable(f"{provider} does not take {request.currency}.")
        if provider is ProviderName.PAYPAL and not has_method and request.return_url is None:
            raise errors.ReturnUrlRequired(
                "A PayPal checkout sends the buyer to PayPal and back: send return_url."
            )
        _require_exact(request.amount, request.currency, provider)
        return
    able = [
        name
        for name in settings.routing_priority
        if request.currency in settings.provider_currencies(name)
        and (ProviderName(name) is not ProviderName.PAYPAL or request.return_url is not None)
    ]
    if not able:
        raise errors.ProviderNotAvailable(
            f"No configured provider takes {request.currency} checkouts"
            + ("" if request.return_url else " without return_url")
            + "."
        )
    if not any(representable(request.amount, request.currency, name) for name in able):
        _require_exact(request.amount, request.currency, able[0])


def _require_exact(amount: int, currency: str, provider: str) -> None:
    """Refuse an amount ``provider`` cannot write exactly in its own units (HUF 10.50 at
    PayPal, which takes whole forints): rounding it would charge another amount than asked."""
    if provider not in set(ProviderName):
        return  # not placed at a provider yet: the routing rules will leave out those that cannot
    try:
        require_representable(amount, currency, provider)
    except NotRepresentable as error:
        raise errors.AmountNotRepresentable(str(error)) from None


async def _recorded_outcome(runtime: Runtime, payment_id: str, fingerprint: str) -> PaymentOutcome:
    """The workflow has closed (its projection is the final answer), or no worker could answer
    in time (the projection is the latest state; the work goes on when a worker returns)."""
    async with runtime.database.reading() as session:
        recorded = await payments_repo.get_payment(session, payment_id)
    if recorded is None:
        raise errors.ServiceUnavailable("The payment is not readable yet; retry later.")
    _require_same_request(recorded, fingerprint)
    return PaymentOutcome(recorded, created=False)


async def _own_payment(session: AsyncSession, account_id: str, payment_id: str) -> Payment:
    return await owned(
        payments_repo.get_payment(session, payment_id, account_id), f"payment {payment_id}"
    )


async def get_payment(runtime: Runtime, account_id: str, payment_id: str) -> Payment:
    async with runtime.database.reading() as session:
        return await _own_payment(session, account_id, payment_id)


async def list_payments(
    runtime: Runtime,
    account_id: str,
    *,
    customer_id: str | None,
    status: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Payment], bool]:
    """A page of the account's payments, newest first, and whether more follow."""
    async with runtime.database.reading() as session:
        return await payments_repo.list_payments(
            session,
            account_id=account_id,
            customer_id=customer_id,
            status=status,
            limit=limit,
            starting_after=starting_after,
        )


async def capture_payment(
    runtime: Runtime, account_id: str, payment_id: str, amount: int | None, idempotency_key: str
) -> PaymentView:
    """Capture all (no amount) or part of an authorized payment; a part the provider cannot
    take exactly is refused before the workflow hears of it."""
    payment = await get_payment(runtime, account_id, payment_id)
    if amount is not None:
        _require_exact(amount, payment.currency, payment.provider)
    key = derive_id("capture_", account_id, payment_id, idempotency_key)
    fingerprint = request_hash({"amount": amount})
    return await temporal.update_workflow(
        runtime.client,
        payment_id,
        PaymentUpdate.CAPTURE,
        CaptureRequest(key=key, request_hash=fingerprint, amount=amount),
        f"{key}:{fingerprint[:16]}",
        PaymentView,
    )


async def cancel_payment(
    runtime: Runtime, account_id: str, payment_id: str, idempotency_key: str | None
) -> PaymentView:
    """Cancel before money moved. The workflow answers once the provider has voided the
    authorization, however long that takes; without a key, each request is a cancel of its own."""
    await get_payment(runtime, account_id, payment_id)
    key = (
        derive_id("cancel_", account_id, payment_id, idempotency_key)
        if idempotency_key
        else random_id("cancel_")
    )
    return await temporal.update_workflow(
        runtime.client,
        payment_id,
        PaymentUpdate.CANCEL,
        CancelRequest(key=key, request_hash=""),
        key,
        PaymentView,
    )


async def refund_payment(
    runtime: Runtime,
    account_id: str,
    payment_id: str,
    amount: int | None,
    reason: str | None,
    idempotency_key: str,
) -> Outcome[Refund | RefundView]:
    """Refund all that remains (no amount) or part of it; never more than was captured. A
    repeated refund the workflow no longer takes (it has closed) is answered from its record."""
    refund_id = derive_id("re_", account_id, payment_id, idempotency_key)
    fingerprint = request_hash({"amount": amount, "reason": reason})
    async with runtime.database.reading() as session:
        payment = await _own_payment(session, account_id, payment_id)
        recorded = await payments_repo.get_refund(session, refund_id)
    if amount is not None:
        _require_exact(amount, payment.currency, payment.provider)
    try:
        view = await temporal.update_workflow(
            runtime.client,
            payment_id,
            PaymentUpdate.REFUND,
            RefundRequest(
                refund_id=refund_id, request_hash=fingerprint, amount=amount, reason=reason
            ),
            f"{refund_id}:{fingerprint[:16]}",
            RefundView,
        )
    except errors.InvalidState:
        if recorded is None:
            raise
        return Outcome(recorded, created=False)
    return Outcome(view, created=recorded is None)


async def list_refunds(runtime: Runtime, account_id: str, payment_id: str) -> list[Refund]:
    async with runtime.database.reading() as session:
        await _own_payment(session, account_id, payment_id)
        return await payments_repo.list_refunds(session, payment_id)


async def list_events(runtime: Runtime, account_id: str, payment_id: str) -> list[PaymentEvent]:
    """The payment's timeline, oldest first."""
    async with runtime.database.reading() as session:
        await _own_payment(session, account_id, payment_id)
        return await payments_repo.list_payment_events(session, payment_id)
