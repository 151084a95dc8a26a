"""Driving a SubscriptionWorkflow on the time-skipping server: start one for a customer with a
saved card, let days pass, and read back its invoices and state."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from contracts.payments import PaymentTimeouts
from contracts.subscriptions import (
    BillingTerms,
    PlanInterval,
    PlanTerms,
    SubscriptionInput,
    SubscriptionView,
)
from db.models import Invoice
from db.repositories import invoices as invoices_repo
from tests.support.flows import CARD_OK, card_customer
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.time_skipping import skip_days, skip_until
from tests.support.timeskip import Proxied, TimeSkipping
from workflows.subscription import SubscriptionWorkflow

DAY = timedelta(days=1)
PRO_MONTHLY = PlanTerms("pro_monthly", "Pro", 2900, "USD", PlanInterval.MONTH)
TEAM_MONTHLY = PlanTerms("team_monthly", "Team", 9900, "USD", PlanInterval.MONTH)
TERMS = BillingTerms(
    payment=PaymentTimeouts(
        action_seconds=3600,
        authorization_expiry_seconds=7 * 86400,
        # Longer than any module simulates (years): the time-skipping test server stalls when an
        # abandoned child completes after the parent run that started it continued as new.
        refund_window_seconds=3650 * 86400,
        provider_call_seconds=10,
    ),
    update_payment_method_url="https://billing.example.com/update",
)


def unique_email() -> str:
    return f"customer-{uuid.uuid4().hex[:10]}@example.com"


async def subscribe(
    api: httpx.AsyncClient,
    stack: Stack,
    timeskip: TimeSkipping,
    card: str,
    *,
    trial_days: int = 0,
    email: str = "ada@example.com",
    plan: PlanTerms = PRO_MONTHLY,
    terms: BillingTerms = TERMS,
) -> tuple[SubscriptionInput, datetime]:
    """A new customer with a saved card, subscribed on the time-skipping server."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, card, email)
    return await subscribe_customer(
        timeskip,
        customer_id,
        payment_method_id=method_id,
        plan=plan,
        terms=terms,
        trial_days=trial_days,
    )


async def advance(timeskip: TimeSkipping, days: int) -> None:
    """Skip server time a day at a time (see ``skip_days``)."""
    await skip_days(timeskip.env, days)


async def advance_until(timeskip: TimeSkipping, moment: datetime) -> None:
    """Skip to ``moment`` in steps of at most a day (see ``skip_until``)."""
    await skip_until(timeskip.env, moment)


async def subscribed(
    api: httpx.AsyncClient,
    stack: Stack,
    proxied: Proxied,
    email: str,
    plan: PlanTerms = PRO_MONTHLY,
) -> tuple[SubscriptionInput, datetime]:
    """A subscriber whose first invoice is paid; returns when the first renewal is due."""
    subscription, _ = await subscribe(api, stack, proxied.timeskip, CARD_OK, email=email, plan=plan)
    proxied.started.append(subscription.subscription_id)
    (first,) = await eventually(
        lambda: invoices(stack, subscription.subscription_id),
        lambda rows: [row.status for row in rows] == ["paid"],
    )
    return subscription, first.period_end


async def invoices(stack: Stack, subscription_id: str) -> list[Invoice]:
    async with stack.sessions() as session:
        rows, _ = await invoices_repo.list_invoices(
            session, account_id="acct_dev", subscription_id=subscription_id, limit=100
        )
    return sorted(rows, key=lambda row: (row.period_start, row.id))


async def state(timeskip: TimeSkipping, subscription_id: str) -> SubscriptionView:
    handle = timeskip.client.get_workflow_handle(subscription_id)
    view: SubscriptionView = await handle.query(SubscriptionWorkflow.state)
    return view


async def subscribe_customer(
    timeskip: TimeSkipping,
    customer_id: str,
    *,
    payment_method_id: str | None = None,
    plan: PlanTerms = PRO_MONTHLY,
    terms: BillingTerms = TERMS,
    trial_days: int = 0,
) -> tuple[SubscriptionInput, datetime]:
    """Start a subscription for a customer the test set up itself; without
    ``payment_method_id`` every invoice goes to the customer's default method, as the API's
    subscriptions do when the client names none."""
    started = await timeskip.env.get_current_time()
    subscription = SubscriptionInput(
        subscription_id=f"sub_{uuid.uuid4().hex[:16]}",
        account_id="acct_dev",
        customer_id=customer_id,
        plan=plan,
        trial_days=trial_days,
        billing=terms,
        created_at=started,
        payment_method_id=payment_method_id,
    )
    await timeskip.client.start_workflow(
        SubscriptionWorkflow.run,
        subscription,
        id=subscription.subscription_id,
        task_queue=timeskip.settings.task_queue,
    )
    return subscription, started
