"""Driving a SubscriptionWorkflow on the time-skipping server: start one for a customer with a
saved card, let days pass, and read back its invoices and state."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from db import billing
from db.models import Invoice
from tests.conftest import Stack
from tests.support.flows import card_customer
from tests.workflows.conftest import TimeSkipping
from workflows.subscription import SubscriptionWorkflow
from workflows.types import (
    BillingTerms,
    PaymentTimeouts,
    PlanInterval,
    PlanTerms,
    SubscriptionInput,
    SubscriptionView,
)

DAY = timedelta(days=1)
PRO_MONTHLY = PlanTerms("pro_monthly", "Pro", 2900, "USD", PlanInterval.MONTH)
TEAM_MONTHLY = PlanTerms("team_monthly", "Team", 9900, "USD", PlanInterval.MONTH)
TERMS = BillingTerms(
    payment=PaymentTimeouts(
        action_seconds=3600,
        authorization_expiry_seconds=7 * 86400,
        # Longer than any simulated stretch: the time-skipping test server stalls when an
        # abandoned child completes after the parent run that started it continued as new.
        refund_window_seconds=400 * 86400,
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
    customer_id, method_id = await card_customer(api, stack.stripe_url, card)
    started = await timeskip.env.get_current_time()
    subscription = SubscriptionInput(
        subscription_id=f"sub_{uuid.uuid4().hex[:16]}",
        account_id="acct_dev",
        customer_id=customer_id,
        customer_email=email,
        plan=plan,
        trial_days=trial_days,
        billing=terms,
        created_at=started,
        payment_method_id=method_id,
    )
    await timeskip.client.start_workflow(
        SubscriptionWorkflow.run,
        subscription,
        id=subscription.subscription_id,
        task_queue=timeskip.settings.task_queue,
    )
    return subscription, started


async def advance(timeskip: TimeSkipping, days: int) -> None:
    """Skip server time a day at a time: one long skip across a renewal stalls the test server
    (its sleep RPC times out), while day-sized steps let each renewal's activities finish."""
    for _ in range(days):
        await timeskip.env.sleep(DAY)


async def invoices(stack: Stack, subscription_id: str) -> list[Invoice]:
    async with stack.sessions() as session:
        rows, _ = await billing.list_invoices(
            session, account_id="acct_dev", subscription_id=subscription_id, limit=100
        )
    return sorted(rows, key=lambda row: (row.period_start, row.id))


async def state(timeskip: TimeSkipping, subscription_id: str) -> SubscriptionView:
    handle = timeskip.client.get_workflow_handle(subscription_id)
    view: SubscriptionView = await handle.query(SubscriptionWorkflow.state)
    return view
