"""Payments: create, read, capture, cancel, refund. Every change is a workflow update."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.answers import created_or_found, found_again
from api.deps import (
    IdempotencyKeyDep,
    OptionalIdempotencyKeyDep,
    PageQueryDep,
    PrincipalDep,
    RuntimeDep,
)
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.payments import (
    CaptureCreate,
    PaymentCreate,
    PaymentEventOut,
    PaymentOut,
    RefundCreate,
    RefundOut,
)
from services import errors, payments
from services.client_secrets import stripe_client_secret
from services.payments import PaymentRequest
from services.runtime import Runtime

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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(PaymentOut),
        202: {"model": PaymentOut, "description": "Still `processing` after the bounded wait"},
        **problems(
            errors.IdempotencyKeyReused,
            errors.CustomerNotFound,
            errors.PaymentMethodNotFound,
            errors.ProviderNotAvailable,
            errors.ReturnUrlRequired,
            errors.AmountExceedsLimit,
            errors.ServiceUnavailable,
        ),
    },
)
async def create_payment(
    body: PaymentCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> PaymentOut:
    """Start the payment's workflow (or find it again) and wait a bounded time for it to settle."""
    outcome = await payments.create_payment(
        runtime, principal.account_id, PaymentRequest(**body.model_dump()), idempotency_key
    )
    payment = created_or_found(PaymentOut, outcome, response)
    if outcome.processing:
        response.status_code = status.HTTP_202_ACCEPTED
    return await with_client_secret(runtime, payment)


@router.get("")
async def list_payments(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    customer_id: str | None = None,
    status_filter: Annotated[StatusFilter | None, Query(alias="status")] = None,
) -> Page[PaymentOut]:
    rows, has_more = await payments.list_payments(
        runtime,
        principal.account_id,
        customer_id=customer_id,
        status=status_filter,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    page = page_of(PaymentOut, rows, has_more)
    page.data = [await with_client_secret(runtime, payment) for payment in page.data]
    return page


@router.get("/{payment_id}", responses=problems(errors.NotFound))
async def get_payment(payment_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> PaymentOut:
    payment = PaymentOut.model_validate(
        await payments.get_payment(runtime, principal.account_id, payment_id)
    )
    return await with_client_secret(runtime, payment)


async def with_client_secret(runtime: Runtime, payment: PaymentOut) -> PaymentOut:
    """A payment waiting on Stripe's SDK, with the client secret read from Stripe: neither the
    workflow nor the projection keeps it (``services.client_secrets``)."""
    action = payment.next_action
    if action is not None and action.type == "stripe_sdk":
        action.client_secret = await stripe_client_secret(
            runtime.settings, payment.provider_reference
        )
    return payment


@router.post(
    "/{payment_id}/capture",
    responses=problems(
        errors.NotFound,
        errors.InvalidState,
        errors.IdempotencyKeyReused,
        errors.AmountExceedsCapturable,
        errors.ProviderError,
        errors.ServiceUnavailable,
    ),
)
async def capture_payment(
    payment_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    body: CaptureCreate | None = None,
) -> PaymentOut:
    """Capture all (no amount) or part of an authorized payment."""
    amount = body.amount if body else None
    view = await payments.capture_payment(
        runtime, principal.account_id, payment_id, amount, idempotency_key
    )
    return PaymentOut.model_validate(view)


@router.post(
    "/{payment_id}/cancel",
    responses=problems(
        errors.NotFound, errors.InvalidState, errors.ProviderError, errors.ServiceUnavailable
    ),
)
async def cancel_payment(
    payment_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> PaymentOut:
    view = await payments.cancel_payment(runtime, principal.account_id, payment_id, idempotency_key)
    return PaymentOut.model_validate(view)


@router.post(
    "/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(RefundOut),
        **problems(
            errors.NotFound,
            errors.InvalidState,
            errors.IdempotencyKeyReused,
            errors.RefundExceedsAvailable,
            errors.ProviderError,
            errors.ServiceUnavailable,
        ),
    },
)
async def create_refund(
    payment_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
    body: RefundCreate | None = None,
) -> RefundOut:
    """Refund all that remains (no amount) or part of it; never more than was captured."""
    refund = body or RefundCreate()
    outcome = await payments.refund_payment(
        runtime, principal.account_id, payment_id, refund.amount, refund.reason, idempotency_key
    )
    return created_or_found(RefundOut, outcome, response)


@router.get("/{payment_id}/refunds", responses=problems(errors.NotFound))
async def list_refunds(
    payment_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> Page[RefundOut]:
    rows = await payments.list_refunds(runtime, principal.account_id, payment_id)
    return page_of(RefundOut, rows)


@router.get("/{payment_id}/events", responses=problems(errors.NotFound))
async def list_events(
    payment_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> Page[PaymentEventOut]:
    rows = await payments.list_events(runtime, principal.account_id, payment_id)
    return page_of(PaymentEventOut, rows)
