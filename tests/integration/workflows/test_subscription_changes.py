"""Plan changes, pauses and cancels on the time-skipping server, including while a renewal is in
flight: the fault proxy holds the renewal's charge at localstripe, the update arrives, and the
subscription must come out consistent, with no period billed twice and no cent lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateStage

from contracts.subscriptions import (
    CancelSubscriptionRequest,
    PlanChange,
    Proration,
    SubscriptionStatus,
    SubscriptionView,
)
from sandbox.faults.proxy import Fault
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.subscriptions import (
    DAY,
    PRO_MONTHLY,
    TEAM_MONTHLY,
    advance,
    advance_until,
    invoices,
    state,
    subscribed,
    unique_email,
)
from tests.support.timeskip import Proxied
from workflows.policies.proration import consumed, prorate
from workflows.subscription import SubscriptionWorkflow

pytestmark = pytest.mark.timeskip

HOUR = timedelta(hours=1)
CONFIRM = r"/v1/payment_intents/[^/]+/confirm"


def handle_of(
    proxied: Proxied, subscription_id: str
) -> WorkflowHandle[SubscriptionWorkflow, SubscriptionView]:
    return proxied.timeskip.client.get_workflow_handle_for(
        SubscriptionWorkflow.run, subscription_id
    )


async def test_an_upgrade_mid_period_charges_the_prorated_difference_now(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    await advance(proxied.timeskip, 10)
    view = await handle_of(proxied, subscription.subscription_id).execute_update(
        SubscriptionWorkflow.change_plan, PlanChange(TEAM_MONTHLY, Proration.PRORATE)
    )
    assert view.plan_id == "team_monthly"

    first, upgrade = await invoices(stack, subscription.subscription_id)
    expected = prorate(
        PRO_MONTHLY.amount,
        TEAM_MONTHLY.amount,
        int((first.period_end - first.period_start).total_seconds()),
        int((upgrade.period_start - first.period_start).total_seconds()),
    )
    assert 0 < expected.net < TEAM_MONTHLY.amount - PRO_MONTHLY.amount
    assert (upgrade.status, upgrade.amount_due, upgrade.amount_paid) == (
        "paid",
        expected.net,
        expected.net,
    )
    assert [line["amount"] for line in upgrade.lines] == [-expected.credit, expected.charge]
    assert upgrade.period_end == first.period_end == renewal

    await advance_until(proxied.timeskip, renewal + HOUR)
    renewed = (await invoices(stack, subscription.subscription_id))[-1]
    assert (renewed.period_start, renewed.amount_due, renewed.status) == (renewal, 9900, "paid")


async def test_a_downgrade_credits_the_next_invoices_to_the_cent(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email(), plan=TEAM_MONTHLY)
    await advance(proxied.timeskip, 10)
    view = await handle_of(proxied, subscription.subscription_id).execute_update(
        SubscriptionWorkflow.change_plan, PlanChange(PRO_MONTHLY, Proration.PRORATE)
    )
    (first,) = await invoices(stack, subscription.subscription_id)
    credit = -prorate(
        TEAM_MONTHLY.amount,
        PRO_MONTHLY.amount,
        int((first.period_end - first.period_start).total_seconds()),
        int((view.updated_at - first.period_start).total_seconds()),
    ).net
    assert (view.plan_id, view.credit_balance) == ("pro_monthly", credit)
    assert PRO_MONTHLY.amount < credit < 2 * PRO_MONTHLY.amount

    await advance_until(proxied.timeskip, renewal + 32 * DAY)
    _, covered, partly = await eventually(
        lambda: invoices(stack, subscription.subscription_id), lambda rows: len(rows) == 3
    )
    assert (covered.amount_due, covered.status) == (0, "paid")
    assert (partly.amount_due, partly.status) == (2 * PRO_MONTHLY.amount - credit, "paid")
    assert covered.amount_due + partly.amount_due + credit == 2 * PRO_MONTHLY.amount
    assert (await state(proxied.timeskip, subscription.subscription_id)).credit_balance == 0


async def hold_renewal(proxied: Proxied, until_renewal: timedelta) -> asyncio.Task[None]:
    """Hold the next charge at the proxy and let server time run past the renewal; returns once
    the renewal's confirm is held (the renewal is in flight and holds the subscription's lock),
    with the server's sleep still running: await it after the release (cancelling it midway
    leaves the time-skipping server stuck)."""
    hold = proxied.proxy.add(Fault.HOLD, "POST", CONFIRM, times=1)
    sleeper = asyncio.create_task(proxied.timeskip.env.sleep(until_renewal + HOUR))
    await asyncio.wait_for(hold.matched.wait(), timeout=30)
    return sleeper


async def renewal_in_flight(stack: Stack, subscription_id: str) -> bool:
    """The renewal's invoice is open and its charge held: the update really arrived mid-renewal."""
    rows = await invoices(stack, subscription_id)
    return [row.status for row in rows] == ["paid", "open"]


async def test_a_pause_during_a_renewal_waits_for_it_and_a_resume_restarts_the_period(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    handle = handle_of(proxied, subscription.subscription_id)
    await advance_until(proxied.timeskip, renewal - HOUR)
    sleeping = await hold_renewal(proxied, HOUR)

    pausing = await handle.start_update(
        SubscriptionWorkflow.pause, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert await renewal_in_flight(stack, subscription.subscription_id)
    proxied.proxy.release_all()
    paused = await pausing.result()
    await sleeping
    assert (paused.status, paused.entitled) == (SubscriptionStatus.PAUSED, False)
    assert paused.current_period_start == renewal
    first, renewed = await invoices(stack, subscription.subscription_id)
    assert (first.status, renewed.status, renewed.period_start) == ("paid", "paid", renewal)

    await advance(proxied.timeskip, 40)
    assert len(await invoices(stack, subscription.subscription_id)) == 2
    resumed = await handle.execute_update(SubscriptionWorkflow.resume)
    assert (resumed.status, resumed.entitled) == (SubscriptionStatus.ACTIVE, True)
    rows = await invoices(stack, subscription.subscription_id)
    assert [row.status for row in rows] == ["paid"] * 3
    assert rows[-1].period_start == resumed.current_period_start > renewal + 40 * DAY
    assert len({row.period_start for row in rows}) == 3


async def test_cancel_at_period_end_during_a_renewal_ends_the_renewed_period(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    handle = handle_of(proxied, subscription.subscription_id)
    await advance_until(proxied.timeskip, renewal - HOUR)
    sleeping = await hold_renewal(proxied, HOUR)

    canceling = await handle.start_update(
        SubscriptionWorkflow.cancel,
        CancelSubscriptionRequest(at_period_end=True),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    assert await renewal_in_flight(stack, subscription.subscription_id)
    proxied.proxy.release_all()
    view = await canceling.result()
    await sleeping
    assert (view.status, view.cancel_at_period_end, view.entitled) == (
        SubscriptionStatus.ACTIVE,
        True,
        True,
    )
    assert view.current_period_start == renewal

    await advance_until(proxied.timeskip, view.current_period_end + HOUR)
    final = await handle.result()
    assert (final.status, final.entitled) == (SubscriptionStatus.CANCELED, False)
    rows = await invoices(stack, subscription.subscription_id)
    assert [(row.period_start, row.status) for row in rows] == [
        (rows[0].period_start, "paid"),
        (renewal, "paid"),
    ]


async def test_cancel_now_with_a_prorated_refund_gives_back_the_unused_time_of_each_payment(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    handle = handle_of(proxied, subscription.subscription_id)
    await advance(proxied.timeskip, 10)
    await handle.execute_update(
        SubscriptionWorkflow.change_plan, PlanChange(TEAM_MONTHLY, Proration.PRORATE)
    )
    await advance(proxied.timeskip, 5)

    canceled = await handle.execute_update(
        SubscriptionWorkflow.cancel,
        CancelSubscriptionRequest(at_period_end=False, prorate_refund=True),
    )
    assert (canceled.status, canceled.entitled) == (SubscriptionStatus.CANCELED, False)
    assert canceled.canceled_at is not None
    for invoice in await invoices(stack, subscription.subscription_id):
        length = int((invoice.period_end - invoice.period_start).total_seconds())
        used = int((canceled.canceled_at - invoice.period_start).total_seconds())
        unused = invoice.amount_paid - consumed(invoice.amount_paid, length, used)
        refunds = (await api.get(f"/v1/payments/{invoice.id}/refunds")).json()["data"]
        assert [(r["amount"], r["status"]) for r in refunds] == [(unused, "succeeded")]
        payment = (await api.get(f"/v1/payments/{invoice.id}")).json()
        assert payment["amount_refunded"] == unused < invoice.amount_paid
    assert canceled.current_period_end == renewal
