"""Subscriptions: create, read, change plan, pause, resume, cancel, replace the payment method.

Each subscription is a SubscriptionWorkflow whose ID is the subscription's; every change is an
update of that workflow, which alone decides whether it is allowed and what it costs. Reads come
from the database projection the workflow writes before it answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from api.deps import (
    IdempotencyKeyDep,
    OptionalIdempotencyKeyDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
)
from api.schemas.common import Page
from api.schemas.subscriptions import (
    PlanChangeCreate,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPaymentMethod,
)
from api.views import subscription_from_row, subscription_from_view
from contracts.subscriptions import (
    CancelSubscriptionRequest,
    PaymentMethodChange,
    PlanChange,
    PlanInterval,
    PlanTerms,
    Proration,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
)
from contracts.workflow_names import SubscriptionUpdate
from db.models import Customer, Plan, Subscription
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import plans as plans_repo
from db.repositories import subscriptions as subscriptions_repo
from services import errors, temporal
from services.idempotency import derive_id, random_id, request_hash
from services.terms import billing_terms
from settings import Settings

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


def _plan_terms(plan: Plan) -> PlanTerms:
    return PlanTerms(
        id=plan.id,
        name=plan.name,
        amount=plan.amount,
        currency=plan.currency,
        interval=PlanInterval(plan.interval),
    )


async def _plan(session: SessionDep, plan_id: str) -> Plan:
    plan = await plans_repo.get_plan(session, plan_id)
    if plan is None:
        raise errors.PlanNotFound(f"No plan {plan_id}; GET /v1/plans lists them.")
    return plan


async def _own_subscription(
    session: SessionDep, principal: PrincipalDep, subscription_id: str
) -> Subscription:
    """Another account's subscription is a 404 like a missing one: its existence is not
    disclosed."""
    subscription = await subscriptions_repo.get_subscription(
        session, subscription_id, principal.account_id
    )
    if subscription is None:
        raise errors.NotFound(f"No subscription {subscription_id}.")
    return subscription


async def _require_usable_method(session: SessionDep, customer_id: str, method_id: str) -> None:
    method = await payment_methods_repo.get_payment_method(session, method_id)
    if method is None or method.customer_id != customer_id or method.deleted_at is not None:
        raise errors.InvalidPaymentMethod(
            f"{method_id} is not a saved payment method of {customer_id}."
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": SubscriptionOut, "description": "The same Idempotency-Key and body again"},
        202: {
            "model": SubscriptionOut,
            "description": (
                "The first payment is still being processed; repeat the request with the same "
                "Idempotency-Key for the outcome"
            ),
        },
    },
)
async def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> SubscriptionOut:
    """Subscribe a customer to a plan: the trial starts, or the first period is charged at once.

    Answers once the subscription has begun (``trialing``, ``active``, or ``incomplete`` when the
    first payment failed), or with 202 after the bounded wait.
    """
    subscription_id = derive_id("sub_", principal.account_id, "subscription", idempotency_key)
    fingerprint = request_hash(body.model_dump())
    recorded = await subscriptions_repo.get_subscription(session, subscription_id)
    if recorded is not None and not _first_charge_in_flight(recorded):
        replayed = subscription_from_row(recorded)
        await session.rollback()
        started_with = await temporal.start_request_hash(runtime.client, subscription_id)
        if started_with not in (None, fingerprint):
            raise errors.IdempotencyKeyReused()
        response.status_code = status.HTTP_200_OK
        return replayed
    customer = await customers_repo.get_customer(session, body.customer_id, principal.account_id)
    if customer is None:
        raise errors.CustomerNotFound(f"No customer {body.customer_id}.")
    plan = await _plan(session, body.plan_id)
    subscription = await _subscription_input(
        session, principal.account_id, runtime.settings, body, customer, plan, subscription_id
    )
    summary = f"{plan.name} for {customer.id} {customer.email}"
    await session.rollback()
    started = await temporal.start_subscription(
        runtime.client,
        runtime.settings.task_queue,
        subscription,
        fingerprint,
        summary,
        runtime.settings.payment_settle_wait.total_seconds(),
    )
    if started.request_hash not in (None, fingerprint):
        raise errors.IdempotencyKeyReused()
    if started.subscription is None:
        return await _replayed_from_database(session, subscription_id, response)
    if not started.begun:
        response.status_code = status.HTTP_202_ACCEPTED
    elif not started.created:
        response.status_code = status.HTTP_200_OK
    return subscription_from_view(started.subscription)


def _first_charge_in_flight(row: Subscription) -> bool:
    """Recorded as ``incomplete`` before its first invoice exists: still beginning, so a retry
    joins the workflow and waits for the outcome like the first request did."""
    return row.status == SubscriptionStatus.INCOMPLETE and row.latest_invoice_id is None


async def _subscription_input(
    session: SessionDep,
    account_id: str,
    settings: Settings,
    body: SubscriptionCreate,
    customer: Customer,
    plan: Plan,
    subscription_id: str,
) -> SubscriptionInput:
    """Refuse up front what could never begin: a paid first period with nothing to charge."""
    trial_days = plan.trial_days if body.trial_days is None else body.trial_days
    if body.payment_method_id is not None:
        await _require_usable_method(session, customer.id, body.payment_method_id)
    elif plan.amount > 0 and trial_days == 0:
        methods = await payment_methods_repo.list_payment_methods(session, customer.id)
        if not any(method.is_default for method in methods):
            raise errors.PaymentMethodRequired(
                f"{plan.id} is charged at once: send payment_method_id, or save a default "
                f"payment method for {customer.id} first."
            )
    return SubscriptionInput(
        subscription_id=subscription_id,
        account_id=account_id,
        customer_id=customer.id,
        customer_email=customer.email,
        plan=_plan_terms(plan),
        trial_days=trial_days,
        billing=billing_terms(settings, plan.id, subscription_id),
        created_at=datetime.now(UTC),
        payment_method_id=body.payment_method_id,
    )


async def _replayed_from_database(
    session: SessionDep, subscription_id: str, response: Response
) -> SubscriptionOut:
    """The workflow has closed: the projection it wrote is the final answer."""
    recorded = await subscriptions_repo.get_subscription(session, subscription_id)
    if recorded is None:
        raise errors.ServiceUnavailable("The subscription is not readable yet; retry later.")
    response.status_code = status.HTTP_200_OK
    return subscription_from_row(recorded)


@router.get("")
async def list_subscriptions(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> Page[SubscriptionOut]:
    rows, has_more = await subscriptions_repo.list_subscriptions(
        session,
        account_id=principal.account_id,
        customer_id=customer_id,
        limit=limit,
        starting_after=starting_after,
    )
    return Page[SubscriptionOut](
        data=[subscription_from_row(row) for row in rows], has_more=has_more
    )


@router.get("/{subscription_id}")
async def get_subscription(
    subscription_id: str, session: SessionDep, principal: PrincipalDep
) -> SubscriptionOut:
    return subscription_from_row(await _own_subscription(session, principal, subscription_id))


def _update_id(
    principal: PrincipalDep,
    subscription_id: str,
    idempotency_key: str | None,
    action: str,
    body: BaseModel | None = None,
) -> str:
    """With an Idempotency-Key a retried request is the same update, which Temporal answers only
    once; the body's fingerprint is part of the ID, so another body under that key is another
    change rather than the first one's answer."""
    if idempotency_key is None:
        return random_id(f"{action}_")
    fingerprint = request_hash(body.model_dump() if body is not None else {})
    key = derive_id(f"{action}_", principal.account_id, subscription_id, idempotency_key)
    return f"{key}:{fingerprint[:16]}"


async def _update(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    subscription_id: str,
    update: SubscriptionUpdate,
    arg: object,
    idempotency_key: str | None,
    action: str,
    body: BaseModel | None = None,
) -> SubscriptionOut:
    """Send one change to the subscription's workflow; it answers with the subscription after."""
    view = await temporal.update_workflow(
        runtime.client,
        subscription_id,
        update,
        arg,
        _update_id(principal, subscription_id, idempotency_key, action, body),
        SubscriptionView,
    )
    return subscription_from_view(view)


@router.post("/{subscription_id}/change-plan")
async def change_plan(
    subscription_id: str,
    body: PlanChangeCreate,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> SubscriptionOut:
    """Switch plans. ``prorate`` settles the difference now (an upgrade is charged at once and
    refused with 402 if declined; a downgrade is credited to the next invoices); ``none``, or a
    change between monthly and yearly, takes effect with the next period."""
    await _own_subscription(session, principal, subscription_id)
    plan = await _plan(session, body.plan_id)
    change = PlanChange(plan=_plan_terms(plan), proration=Proration(body.proration))
    await session.rollback()
    return await _update(
        runtime,
        principal,
        subscription_id,
        SubscriptionUpdate.CHANGE_PLAN,
        change,
        idempotency_key,
        "change_plan",
        body,
    )


@router.post("/{subscription_id}/pause")
async def pause_subscription(
    subscription_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> SubscriptionOut:
    """Only an ``active`` subscription pauses; nothing is billed until it resumes."""
    await _own_subscription(session, principal, subscription_id)
    await session.rollback()
    return await _update(
        runtime,
        principal,
        subscription_id,
        SubscriptionUpdate.PAUSE,
        None,
        idempotency_key,
        "pause",
    )


@router.post("/{subscription_id}/resume")
async def resume_subscription(
    subscription_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> SubscriptionOut:
    """A new period starts and is charged now."""
    await _own_subscription(session, principal, subscription_id)
    await session.rollback()
    return await _update(
        runtime,
        principal,
        subscription_id,
        SubscriptionUpdate.RESUME,
        None,
        idempotency_key,
        "resume",
    )


@router.post("/{subscription_id}/cancel")
async def cancel_subscription(
    subscription_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
    body: SubscriptionCancel | None = None,
) -> SubscriptionOut:
    """Cancel now (no body, or ``at_period_end: false``), or at the end of the paid period. A
    cancel now with ``prorate_refund`` refunds the unused part of the current period."""
    await _own_subscription(session, principal, subscription_id)
    await session.rollback()
    cancel = body or SubscriptionCancel()
    return await _update(
        runtime,
        principal,
        subscription_id,
        SubscriptionUpdate.CANCEL,
        CancelSubscriptionRequest(
            at_period_end=cancel.at_period_end, prorate_refund=cancel.prorate_refund
        ),
        idempotency_key,
        "cancel",
        cancel,
    )


@router.post("/{subscription_id}/payment-method")
async def set_payment_method(
    subscription_id: str,
    body: SubscriptionPaymentMethod,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> SubscriptionOut:
    """Charge future invoices to this saved method; an unpaid invoice is retried with it at once."""
    subscription = await _own_subscription(session, principal, subscription_id)
    await _require_usable_method(session, subscription.customer_id, body.payment_method_id)
    await session.rollback()
    return await _update(
        runtime,
        principal,
        subscription_id,
        SubscriptionUpdate.SET_PAYMENT_METHOD,
        PaymentMethodChange(payment_method_id=body.payment_method_id),
        idempotency_key,
        "payment_method",
        body,
    )
