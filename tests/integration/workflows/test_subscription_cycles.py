"""Subscriptions over months on the time-skipping server: every period invoiced and charged once
(through real localstripe and the real database), trials, and a first payment that never comes."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, timedelta

import httpx
import pytest

from contracts.subscriptions import CancelSubscriptionRequest, SubscriptionStatus, SubscriptionView
from tests.support.flows import CARD_DECLINED, CARD_OK
from tests.support.localstripe import intent_statuses
from tests.support.stack import Stack
from tests.support.subscriptions import DAY, advance, invoices, state, subscribe
from tests.support.timeskip import TimeSkipping
from workflows.subscription import SubscriptionWorkflow

pytestmark = pytest.mark.timeskip


async def test_a_year_of_monthly_billing_charges_each_period_once(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    subscription, started = await subscribe(api, stack, timeskip, CARD_OK)
    wall = time.monotonic()
    await advance(timeskip, days=360)
    elapsed = time.monotonic() - wall

    billed = await invoices(stack, subscription.subscription_id)
    assert len(billed) == 12
    assert [row.status for row in billed] == ["paid"] * 12
    assert {row.amount_due for row in billed} == {2900}
    assert sum(row.amount_paid for row in billed) == 12 * 2900
    assert billed[0].period_start == started
    for earlier, later in itertools.pairwise(billed):
        assert earlier.period_end == later.period_start
    assert billed[-1].period_end.astimezone(UTC).month == (started.month - 1 + 12) % 12 + 1
    assert all(intent_statuses(stack.stripe_url, row.id) == ["succeeded"] for row in billed)

    view = await state(timeskip, subscription.subscription_id)
    assert view.status is SubscriptionStatus.ACTIVE
    assert view.entitled
    assert view.periods_billed == 12
    described = await timeskip.client.get_workflow_handle(subscription.subscription_id).describe()
    assert described.raw_description.workflow_execution_info.history_length < 60
    assert elapsed < 120, f"a simulated year took {elapsed:.1f}s of wall time"


async def test_a_trial_bills_its_first_invoice_when_it_ends(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    subscription, started = await subscribe(api, stack, timeskip, CARD_OK, trial_days=14)
    await advance(timeskip, days=13)
    trialing = await state(timeskip, subscription.subscription_id)
    assert trialing.status is SubscriptionStatus.TRIALING
    assert trialing.entitled
    assert trialing.trial_end == started + 14 * DAY
    assert await invoices(stack, subscription.subscription_id) == []

    await advance(timeskip, days=2)
    (first,) = await invoices(stack, subscription.subscription_id)
    assert first.period_start == started + 14 * DAY
    assert first.status == "paid"
    assert (await state(timeskip, subscription.subscription_id)).status is (
        SubscriptionStatus.ACTIVE
    )


async def test_a_trial_ending_on_a_failing_card_is_incomplete_then_canceled(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    subscription, _ = await subscribe(api, stack, timeskip, CARD_DECLINED, trial_days=14)
    await advance(timeskip, days=14)
    await timeskip.env.sleep(timedelta(hours=2))
    incomplete = await state(timeskip, subscription.subscription_id)
    assert incomplete.status is SubscriptionStatus.INCOMPLETE
    assert not incomplete.entitled

    await advance(timeskip, days=1)
    handle = timeskip.client.get_workflow_handle(
        subscription.subscription_id, result_type=SubscriptionView
    )
    final = await handle.result()
    assert final.status is SubscriptionStatus.CANCELED
    (invoice,) = await invoices(stack, subscription.subscription_id)
    assert invoice.status == "void"
    assert intent_statuses(stack.stripe_url, invoice.id) == ["requires_payment_method"]


async def test_an_incomplete_subscription_can_be_canceled_at_once(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    subscription, _ = await subscribe(api, stack, timeskip, CARD_DECLINED, trial_days=14)
    await advance(timeskip, days=14)
    await timeskip.env.sleep(timedelta(hours=2))
    handle = timeskip.client.get_workflow_handle(
        subscription.subscription_id, result_type=SubscriptionView
    )
    assert (await state(timeskip, subscription.subscription_id)).status is (
        SubscriptionStatus.INCOMPLETE
    )

    canceled = await asyncio.wait_for(
        handle.execute_update(
            SubscriptionWorkflow.cancel, CancelSubscriptionRequest(at_period_end=False)
        ),
        timeout=30,
    )

    assert (canceled.status, canceled.entitled) == (SubscriptionStatus.CANCELED, False)
    assert (await handle.result()).status is SubscriptionStatus.CANCELED
    (invoice,) = await invoices(stack, subscription.subscription_id)
    assert invoice.status == "void"
