"""Payments: create, read, capture, cancel, refund. Every change is a workflow update."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.deps import (
    IdempotencyKeyDep,
    OptionalIdempotencyKeyDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
)
from api.schemas.common import Page
from api.schemas.payments import (
    CaptureCreate,
    PaymentCreate,
    PaymentEventOut,
    PaymentOut,
    RefundCreate,
    RefundOut,
)
from api.views import (
    event_out,
    payment_from_row,
    payment_from_view,
    refund_from_row,
    refund_from_view,
)
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
from db.models import Payment
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from money import format_amount
from services import errors, temporal
from services.idempotency import derive_id, random_id, request_hash
from services.terms import payment_timeouts
from settings import Settings

router = APIRouter(prefix="/v1/payments", tags=["payments"])

StatusFilter = Literal[
    "processing",
    "requires_action",
    "requires_capture",
    "succeeded",
    "failed",
    "canceled",
    "under_review",
]


async def _own_payment(session: SessionDep, principal: PrincipalDep, payment_id: str) -> Payment:
    payment = await payments_repo.get_payment(session, payment_id, principal.account_id)
    if payment is None:
        raise errors.NotFound(f"No payment {payment_id}.")
    return payment


@router.post("", status_code=status.HTTP_201_CREATED, responses={202: {"model": PaymentOut}})
async def create_payment(
    body: PaymentCreate,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> PaymentOut:
    """Start the payment's workflow (or find it again) and wait a bounded time for it to settle."""
    payment_id = derive_id("pay_", principal.account_id, "payment", idempotency_key)
    fingerprint = request_hash(body.model_dump())
    recorded = await payments_repo.get_payment(session, payment_id)
    if recorded is not None:
        if recorded.request_hash != fingerprint:
            raise errors.IdempotencyKeyReused()
        if recorded.status in {
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELED,
        }:
            response.status_code = status.HTTP_200_OK
            return payment_from_row(recorded)
    payment = await _payment_input(
        session, principal, runtime.settings, body, payment_id, fingerprint
    )
    await session.rollback()
    summary = (
        f"{'Saved-method payment' if payment.payment_method_id else 'Checkout'} "
        f"{format_amount(payment.amount, payment.currency)} {payment.currency} "
        f"for {payment.customer_id}"
    )
    outcome = await temporal.start_payment(
        runtime.client,
        runtime.settings.task_queue,
        payment,
        summary,
        runtime.settings.payment_settle_wait.total_seconds(),
    )
    if outcome.payment is None:
        return await _replayed_from_database(session, payment_id, fingerprint, response)
    view: PaymentView = outcome.payment
    if view.status is PaymentStatus.PROCESSING:
        response.status_code = status.HTTP_202_ACCEPTED
    elif not outcome.created:
        response.status_code = status.HTTP_200_OK
    runtime.metrics.payments.labels(view.status.value).inc()
    return payment_from_view(view)


async def _payment_input(
    session: SessionDep,
    principal: PrincipalDep,
    settings: Settings,
    body: PaymentCreate,
    payment_id: str,
    fingerprint: str,
) -> PaymentInput:
    customer = await customers_repo.get_customer(session, body.customer_id, principal.account_id)
    if customer is None:
        raise errors.CustomerNotFound(f"No customer {body.customer_id}.")
    provider: ProviderName | None = ProviderName(body.provider) if body.provider else None
    method_ref: str | None = None
    if body.payment_method_id is not None:
        method = await payment_methods_repo.get_payment_method(session, body.payment_method_id)
        if method is None or method.customer_id != customer.id or method.deleted_at is not None:
            raise errors.PaymentMethodNotFound(
                f"No usable payment method {body.payment_method_id} for {customer.id}."
            )
        if provider is not None and provider != method.provider:
            raise errors.ProviderNotAvailable(
                f"Payment method {method.id} belongs to {method.provider}, not {provider}."
            )
        provider = ProviderName(method.provider)
        method_ref = method.provider_token
    _require_provider_for(settings, body, provider, has_method=method_ref is not None)
    return PaymentInput(
        payment_id=payment_id,
        account_id=principal.account_id,
        request_hash=fingerprint,
        amount=body.amount,
        currency=body.currency,
        customer_id=customer.id,
        provider=provider,
        capture_method=CaptureMethod(body.capture_method),
        timeouts=payment_timeouts(settings),
        created_at=datetime.now(UTC),
        payment_method_id=body.payment_method_id,
        provider_customer_ref=customer.reference_at(provider) if provider else None,
        provider_customer_refs={
            name: ref
            for name in settings.routing_priority
            if (ref := customer.reference_at(name)) is not None
        }
        if provider is None
        else {},
        payment_method_ref=method_ref,
        description=body.description,
        metadata=body.metadata,
        return_url=body.return_url,
    )


def _require_provider_for(
    settings: Settings, body: PaymentCreate, provider: ProviderName | None, *, has_method: bool
) -> None:
    """Refuse, before anything starts, a payment no provider could take. A checkout with no
    provider named is placed later by the routing rules; here it only needs one that could."""
    if provider is not None:
        if body.currency not in settings.provider_currencies(provider):
            raise errors.ProviderNotAvailable(f"{provider} does not take {body.currency}.")
        if provider is ProviderName.PAYPAL and not has_method and body.return_url is None:
            raise errors.ReturnUrlRequired(
                "A PayPal checkout sends the buyer to PayPal and back: send return_url."
            )
        return
    able = [
        name
        for name in settings.routing_priority
        if body.currency in settings.provider_currencies(name)
        and (ProviderName(name) is not ProviderName.PAYPAL or body.return_url is not None)
    ]
    if not able:
        raise errors.ProviderNotAvailable(
            f"No configured provider takes {body.currency} checkouts"
            + ("" if body.return_url else " without return_url")
            + "."
        )


async def _replayed_from_database(
    session: SessionDep, payment_id: str, fingerprint: str, response: Response
) -> PaymentOut:
    """The workflow has closed (its projection is the final answer), or no worker could answer
    in time (the projection is the latest state; the work goes on when a worker returns)."""
    recorded = await payments_repo.get_payment(session, payment_id)
    if recorded is None:
        raise errors.ServiceUnavailable("The payment is not readable yet; retry later.")
    if recorded.request_hash != fingerprint:
        raise errors.IdempotencyKeyReused()
    still_processing = recorded.status == PaymentStatus.PROCESSING
    response.status_code = status.HTTP_202_ACCEPTED if still_processing else status.HTTP_200_OK
    return payment_from_row(recorded)


@router.get("")
async def list_payments(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: str | None = None,
    status_filter: Annotated[StatusFilter | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> Page[PaymentOut]:
    rows, has_more = await payments_repo.list_payments(
        session,
        account_id=principal.account_id,
        customer_id=customer_id,
        status=status_filter,
        limit=limit,
        starting_after=starting_after,
    )
    return Page[PaymentOut](data=[payment_from_row(row) for row in rows], has_more=has_more)


@router.get("/{payment_id}")
async def get_payment(payment_id: str, session: SessionDep, principal: PrincipalDep) -> PaymentOut:
    return payment_from_row(await _own_payment(session, principal, payment_id))


@router.post("/{payment_id}/capture")
async def capture_payment(
    payment_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    body: CaptureCreate | None = None,
) -> PaymentOut:
    """Capture all (no amount) or part of an authorized payment."""
    await _own_payment(session, principal, payment_id)
    await session.rollback()
    capture = body or CaptureCreate()
    key = derive_id("capture_", principal.account_id, payment_id, idempotency_key)
    fingerprint = request_hash(capture.model_dump())
    view = await temporal.update_workflow(
        runtime.client,
        payment_id,
        "capture",
        CaptureRequest(key=key, request_hash=fingerprint, amount=capture.amount),
        f"{key}:{fingerprint[:16]}",
        PaymentView,
    )
    return payment_from_view(view)


@router.post("/{payment_id}/cancel")
async def cancel_payment(
    payment_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> PaymentOut:
    await _own_payment(session, principal, payment_id)
    key = (
        derive_id("cancel_", principal.account_id, payment_id, idempotency_key)
        if idempotency_key
        else random_id("cancel_")
    )
    view = await temporal.update_workflow(
        runtime.client,
        payment_id,
        "cancel",
        CancelRequest(key=key, request_hash=""),
        key,
        PaymentView,
    )
    return payment_from_view(view)


@router.post("/{payment_id}/refunds", status_code=status.HTTP_201_CREATED)
async def create_refund(
    payment_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
    body: RefundCreate | None = None,
) -> RefundOut:
    """Refund all that remains (no amount) or part of it; never more than was captured."""
    await _own_payment(session, principal, payment_id)
    refund = body or RefundCreate()
    refund_id = derive_id("re_", principal.account_id, payment_id, idempotency_key)
    fingerprint = request_hash(refund.model_dump())
    recorded = await payments_repo.get_refund(session, refund_id)
    if recorded is not None:
        response.status_code = status.HTTP_200_OK
    await session.rollback()
    try:
        view = await temporal.update_workflow(
            runtime.client,
            payment_id,
            "refund",
            RefundRequest(
                refund_id=refund_id,
                request_hash=fingerprint,
                amount=refund.amount,
                reason=refund.reason,
            ),
            f"{refund_id}:{fingerprint[:16]}",
            RefundView,
        )
    except errors.InvalidState:
        if recorded is None:
            raise
        return refund_from_row(recorded)
    return refund_from_view(view)


@router.get("/{payment_id}/refunds")
async def list_refunds(
    payment_id: str, session: SessionDep, principal: PrincipalDep
) -> Page[RefundOut]:
    await _own_payment(session, principal, payment_id)
    rows = await payments_repo.list_refunds(session, payment_id)
    return Page[RefundOut](data=[refund_from_row(row) for row in rows], has_more=False)


@router.get("/{payment_id}/events")
async def list_events(
    payment_id: str, session: SessionDep, principal: PrincipalDep
) -> Page[PaymentEventOut]:
    await _own_payment(session, principal, payment_id)
    rows = await payments_repo.list_payment_events(session, payment_id)
    return Page[PaymentEventOut](data=[event_out(row) for row in rows], has_more=False)
