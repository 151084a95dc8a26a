"""Subscriptions: what a request to create, read or change one means.

Each subscription is a SubscriptionWorkflow whose ID is the subscription's; every change is an
update of that workflow, which alone decides whether it is allowed and what it costs. Reads come
from the database projection the workflow writes before it answers. Every function reads what it
needs in a short session and closes it before it waits on Temporal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.subscriptions import (
    CancelSubscriptionRequest,
    PaymentMethodChange,
    PlanChange,
    Proration,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
)
from contracts.workflow_names import SubscriptionUpdate
from db.models import Customer, Plan, Subscription
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import subscriptions as subscriptions_repo
from services import errors, temporal
from services.customers import customer_to_charge, usable_method
from services.idempotency import derive_id, random_id, request_hash
from services.plans import plan_terms, requested_plan
from services.runtime import Runtime
from services.terms import billing_terms
from settings import Settings


@dataclass(frozen=True)
class NewSubscription:
    """The request to subscribe; its fields are the request body's, which they fingerprint."""

    customer_id: str
    plan_id: str
    payment_method_id: str | None
    trial_days: int | None
    """``None``: the plan's own trial; ``0``: no trial, the first period is charged at once."""


class StartOutcome(StrEnum):
    """``created``: this request started the subscription and it has begun; ``replayed``: an
    earlier request with this Idempotency-Key and body did; ``processing``: the first payment is
    still being processed after the bounded wait."""

    CREATED = "created"
    REPLAYED = "replayed"
    PROCESSING = "processing"


@dataclass(frozen=True)
class Started:
    subscription: Subscription | SubscriptionView
    outcome: StartOutcome


async def start_subscription(
    runtime: Runtime, account_id: str, request: NewSubscription, idempotency_key: str
) -> Started:
    """Subscribe a customer to a plan: the trial starts, or the first period is charged at once.

    The subscription's ID comes from the Idempotency-Key, so a retry lands on the same workflow;
    the request's fingerprint, kept in the workflow's memo, tells a retry from the key reused
    with another body. A subscription recorded as begun answers from the database.
    """
    subscription_id = derive_id("sub_", account_id, "subscription", idempotency_key)
    fingerprint = request_hash(asdict(request))
    async with runtime.database.reading() as session:
        recorded = await subscriptions_repo.get_subscription(session, subscription_id)
    if recorded is not None and not _first_charge_in_flight(recorded):
        started_with = await temporal.start_request_hash(runtime.client, subscription_id)
        if started_with not in (None, fingerprint):
            raise errors.IdempotencyKeyReused()
        return Started(recorded, StartOutcome.REPLAYED)
    async with runtime.database.reading() as session:
        subscription, summary = await _subscription_input(
            session, runtime.settings, account_id, request, subscription_id
        )
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
        return Started(await _final_row(runtime, subscription_id), StartOutcome.REPLAYED)
    if not started.begun:
        return Started(started.subscription, StartOutcome.PROCESSING)
    return Started(
        started.subscription, StartOutcome.CREATED if started.created else StartOutcome.REPLAYED
    )


def _first_charge_in_flight(row: Subscription) -> bool:
    """Recorded as ``incomplete`` before its first invoice exists: still beginning, so a retry
    joins the workflow and waits for the outcome like the first request did."""
    return row.status == SubscriptionStatus.INCOMPLETE and row.latest_invoice_id is None


async def _subscription_input(
    session: AsyncSession,
    settings: Settings,
    account_id: str,
    request: NewSubscription,
    subscription_id: str,
) -> tuple[SubscriptionInput, str]:
    """The workflow's input and summary. Refused up front: an unknown customer or plan, and what
    could never begin (a paid first period with nothing to charge)."""
    customer = await customer_to_charge(session, account_id, request.customer_id)
    plan = await requested_plan(session, request.plan_id)
    trial_days = plan.trial_days if request.trial_days is None else request.trial_days
    if request.payment_method_id is not None:
        await usable_method(
            session, customer.id, request.payment_method_id, errors.InvalidPaymentMethod
        )
    elif plan.amount > 0 and trial_days == 0:
        await _require_default_method(session, customer, plan)
    subscription = SubscriptionInput(
        subscription_id=subscription_id,
        account_id=account_id,
        customer_id=customer.id,
        plan=plan_terms(plan),
        trial_days=trial_days,
        billing=billing_terms(settings, plan.id, subscription_id),
        created_at=datetime.now(UTC),
        payment_method_id=request.payment_method_id,
    )
    return subscription, f"{plan.name} for {customer.id}"


async def _require_default_method(session: AsyncSession, customer: Customer, plan: Plan) -> None:
    methods = await payment_methods_repo.list_payment_methods(session, customer.id)
    if not any(method.is_default for method in methods):
        raise errors.PaymentMethodRequired(
            f"{plan.id} is charged at once: send payment_method_id, or save a default "
            f"payment method for {customer.id} first."
        )


async def _final_row(runtime: Runtime, subscription_id: str) -> Subscription:
    """The workflow has closed: the projection it wrote is the final answer."""
    async with runtime.database.reading() as session:
        recorded = await subscriptions_repo.get_subscription(session, subscription_id)
    if recorded is None:
        raise errors.ServiceUnavailable("The subscription is not readable yet; retry later.")
    return recorded


async def list_subscriptions(
    runtime: Runtime,
    account_id: str,
    *,
    customer_id: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Subscription], bool]:
    """A page of the account's subscriptions, newest first, and whether more follow."""
    async with runtime.database.reading() as session:
        return await subscriptions_repo.list_subscriptions(
            session,
            account_id=account_id,
            customer_id=customer_id,
            limit=limit,
            starting_after=starting_after,
        )


async def get_subscription(runtime: Runtime, account_id: str, subscription_id: str) -> Subscription:
    async with runtime.database.reading() as session:
        return await _own_subscription(session, account_id, subscription_id)


async def _own_subscription(
    session: AsyncSession, account_id: str, subscription_id: str
) -> Subscription:
    """Another account's subscription is a 404 like a missing one: its existence is not
    disclosed."""
    subscription = await subscriptions_repo.get_subscription(session, subscription_id, account_id)
    if subscription is None:
        raise errors.NotFound(f"No subscription {subscription_id}.")
    return subscription


@dataclass(frozen=True)
class ChangeRequest:
    """A change asked of one subscription: by which account, under which Idempotency-Key."""

    account_id: str
    subscription_id: str
    idempotency_key: str | None

    def update_id(self, action: str, request: Mapping[str, Any]) -> str:
        """With an Idempotency-Key a retried request is the same update, which Temporal answers
        only once; the request's fingerprint is part of the ID, so another body under that key is
        another change rather than the first one's answer."""
        if self.idempotency_key is None:
            return random_id(f"{action}_")
        key = derive_id(f"{action}_", self.account_id, self.subscription_id, self.idempotency_key)
        return f"{key}:{request_hash(request)[:16]}"


async def change_plan(
    runtime: Runtime, asked: ChangeRequest, plan_id: str, proration: str
) -> SubscriptionView:
    """Send the plan's terms; the workflow alone prices the change (proration, credit, a charge
    now or with the next period) and refuses what is not allowed."""
    async with runtime.database.reading() as session:
        await _own_subscription(session, asked.account_id, asked.subscription_id)
        plan = await requested_plan(session, plan_id)
    change = PlanChange(plan=plan_terms(plan), proration=Proration(proration))
    request = {"plan_id": plan_id, "proration": proration}
    return await _update(
        runtime, asked, "change_plan", SubscriptionUpdate.CHANGE_PLAN, change, request
    )


async def pause(runtime: Runtime, asked: ChangeRequest) -> SubscriptionView:
    """The workflow refuses it unless the subscription is ``active``."""
    await get_subscription(runtime, asked.account_id, asked.subscription_id)
    return await _update(runtime, asked, "pause", SubscriptionUpdate.PAUSE, None, {})


async def resume(runtime: Runtime, asked: ChangeRequest) -> SubscriptionView:
    """The workflow starts a new period and charges it before it answers."""
    await get_subscription(runtime, asked.account_id, asked.subscription_id)
    return await _update(runtime, asked, "resume", SubscriptionUpdate.RESUME, None, {})


async def cancel(
    runtime: Runtime, asked: ChangeRequest, *, at_period_end: bool, prorate_refund: bool
) -> SubscriptionView:
    """Now or at the period's end; the workflow refunds the unused part if asked."""
    await get_subscription(runtime, asked.account_id, asked.subscription_id)
    cancel = CancelSubscriptionRequest(at_period_end=at_period_end, prorate_refund=prorate_refund)
    return await _update(
        runtime, asked, "cancel", SubscriptionUpdate.CANCEL, cancel, asdict(cancel)
    )


async def set_payment_method(
    runtime: Runtime, asked: ChangeRequest, payment_method_id: str
) -> SubscriptionView:
    """Only a saved, live method of the subscription's own customer is accepted."""
    async with runtime.database.reading() as session:
        subscription = await _own_subscription(session, asked.account_id, asked.subscription_id)
        await usable_method(
            session, subscription.customer_id, payment_method_id, errors.InvalidPaymentMethod
        )
    change = PaymentMethodChange(payment_method_id=payment_method_id)
    return await _update(
        runtime,
        asked,
        "payment_method",
        SubscriptionUpdate.SET_PAYMENT_METHOD,
        change,
        asdict(change),
    )


async def _update(
    runtime: Runtime,
    asked: ChangeRequest,
    action: str,
    update: SubscriptionUpdate,
    arg: object,
    request: Mapping[str, Any],
) -> SubscriptionView:
    """Send one change to the subscription's workflow; it answers with the subscription after.
    ``action`` prefixes the update's ID; ``request`` is what the caller asked, fingerprinted into
    it."""
    return await temporal.update_workflow(
        runtime.client,
        asked.subscription_id,
        update,
        arg,
        asked.update_id(action, request),
        SubscriptionView,
    )
