"""Subscriptions: create, read, change plan, pause, resume, cancel, replace the payment method.

What each request means lives in ``services.subscriptions``; these routes parse it and shape the
answer, from the row the workflow projected or the view it answered with.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.answers import found_again
from api.deps import (
    IdempotencyKeyDep,
    OptionalIdempotencyKeyDep,
    PageQueryDep,
    PrincipalDep,
    RuntimeDep,
)
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.subscriptions import (
    PlanChangeCreate,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPaymentMethod,
)
from services import errors, subscriptions
from services.subscriptions import ChangeRequest, NewSubscription, StartOutcome

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

_STATUS_BY_OUTCOME = {
    StartOutcome.CREATED: status.HTTP_201_CREATED,
    StartOutcome.REPLAYED: status.HTTP_200_OK,
    StartOutcome.PROCESSING: status.HTTP_202_ACCEPTED,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(SubscriptionOut),
        202: {
            "model": SubscriptionOut,
            "description": (
                "The first payment is still being processed; repeat the request with the same "
                "Idempotency-Key for the outcome"
            ),
        },
        **problems(
            errors.IdempotencyKeyReused,
            errors.CustomerNotFound,
            errors.PlanNotFound,
            errors.PaymentMethodRequired,
            errors.InvalidPaymentMethod,
            errors.ServiceUnavailable,
        ),
    },
)
async def create_subscription(
    body: SubscriptionCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> SubscriptionOut:
    """Subscribe a customer to a plan: the trial starts, or the first period is charged at once.

    Answers once the subscription has begun (``trialing``, ``active``, or ``incomplete`` when the
    first payment failed), or with 202 after the bounded wait.
    """
    started = await subscriptions.start_subscription(
        runtime, principal.account_id, NewSubscription(**body.model_dump()), idempotency_key
    )
    response.status_code = _STATUS_BY_OUTCOME[started.outcome]
    return SubscriptionOut.model_validate(started.subscription)


@router.get("")
async def list_subscriptions(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    customer_id: str | None = None,
) -> Page[SubscriptionOut]:
    rows, has_more = await subscriptions.list_subscriptions(
        runtime,
        principal.account_id,
        customer_id=customer_id,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(SubscriptionOut, rows, has_more)


@router.get("/{subscription_id}", responses=problems(errors.NotFound))
async def get_subscription(
    subscription_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> SubscriptionOut:
    return SubscriptionOut.model_validate(
        await subscriptions.get_subscription(runtime, principal.account_id, subscription_id)
    )


async def _asked(
    subscription_id: str, principal: PrincipalDep, idempotency_key: OptionalIdempotencyKeyDep
) -> ChangeRequest:
    return ChangeRequest(principal.account_id, subscription_id, idempotency_key)


AskedDep = Annotated[ChangeRequest, Depends(_asked)]
"""The subscription a change addresses, who asks for it, and under which Idempotency-Key."""

_CHANGE_PROBLEMS = (errors.NotFound, errors.InvalidState, errors.ServiceUnavailable)
"""What any change can answer: no such subscription, or the workflow refuses the change in the
subscription's state or cannot take it now."""


@router.post(
    "/{subscription_id}/change-plan",
    responses=problems(
        *_CHANGE_PROBLEMS,
        errors.PlanNotFound,
        errors.CurrencyMismatch,
        errors.PaymentFailed,
        errors.ProviderError,
    ),
)
async def change_plan(
    body: PlanChangeCreate, asked: AskedDep, runtime: RuntimeDep
) -> SubscriptionOut:
    """Switch plans. ``prorate`` settles the difference now (an upgrade is charged at once and
    refused with 402 if declined; a downgrade is credited to the next invoices); ``none``, or a
    change between monthly and yearly, takes effect with the next period."""
    view = await subscriptions.change_plan(runtime, asked, body.plan_id, body.proration)
    return SubscriptionOut.model_validate(view)


@router.post("/{subscription_id}/pause", responses=problems(*_CHANGE_PROBLEMS))
async def pause_subscription(asked: AskedDep, runtime: RuntimeDep) -> SubscriptionOut:
    """Only an ``active`` subscription pauses; nothing is billed until it resumes."""
    return SubscriptionOut.model_validate(await subscriptions.pause(runtime, asked))


@router.post(
    "/{subscription_id}/resume", responses=problems(*_CHANGE_PROBLEMS, errors.ProviderError)
)
async def resume_subscription(asked: AskedDep, runtime: RuntimeDep) -> SubscriptionOut:
    """A new period starts and is charged now."""
    return SubscriptionOut.model_validate(await subscriptions.resume(runtime, asked))


@router.post(
    "/{subscription_id}/cancel", responses=problems(*_CHANGE_PROBLEMS, errors.ProviderError)
)
async def cancel_subscription(
    asked: AskedDep, runtime: RuntimeDep, body: SubscriptionCancel | None = None
) -> SubscriptionOut:
    """Cancel now (no body, or ``at_period_end: false``), or at the end of the paid period. A
    cancel now with ``prorate_refund`` refunds the unused part of the current period."""
    cancel = body or SubscriptionCancel()
    view = await subscriptions.cancel(
        runtime, asked, at_period_end=cancel.at_period_end, prorate_refund=cancel.prorate_refund
    )
    return SubscriptionOut.model_validate(view)


@router.post(
    "/{subscription_id}/payment-method",
    responses=problems(*_CHANGE_PROBLEMS, errors.InvalidPaymentMethod),
)
async def set_payment_method(
    body: SubscriptionPaymentMethod, asked: AskedDep, runtime: RuntimeDep
) -> SubscriptionOut:
    """Charge future invoices to this saved method; an unpaid invoice is retried with it at once."""
    view = await subscriptions.set_payment_method(runtime, asked, body.payment_method_id)
    return SubscriptionOut.model_validate(view)
