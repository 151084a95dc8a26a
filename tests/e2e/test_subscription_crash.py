"""Workers SIGKILLed in the middle of a renewal, on the real Temporal server: a fresh worker
finishes the renewal, and neither period is invoiced or charged twice.

The subscription renews seconds after it starts (``tests.support.renewals``).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.subscriptions import CancelSubscriptionRequest, SubscriptionStatus
from sandbox.faults.proxy import Fault, FaultProxy, Rule
from tests.support.flows import CARD_OK, card_customer
from tests.support.localstripe import intent_statuses
from tests.support.net import free_port
from tests.support.polling import eventually
from tests.support.renewals import CONFIRM, renewing_at
from tests.support.stack import Stack
from tests.support.subscriptions import invoices
from tests.support.worker_process import WORKER_START_TIMEOUT, start_worker, wait_until_polled
from workflows.policies.invoicing import period_end
from workflows.subscription import SubscriptionWorkflow

RENEWS_IN = timedelta(seconds=5)
"""Long enough for the worker to bill the first period before the renewal; short for a test."""


@pytest.fixture
async def proxy(stack: Stack) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(stack.stripe_url)
    await fault_proxy.start(free_port())
    yield fault_proxy
    await fault_proxy.stop()


async def kill_when_matched(rule: Rule, worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``worker`` the moment its provider call reaches the proxy: no cleanup, no reply.
    The call may come from a worker still starting (a cold import)."""
    await asyncio.wait_for(rule.matched.wait(), timeout=WORKER_START_TIMEOUT)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


async def test_a_worker_killed_twice_during_a_renewal_bills_each_period_once(
    api: httpx.AsyncClient, stack: Stack, proxy: FaultProxy
) -> None:
    """A crash loop: the first worker dies before the renewal's confirm reaches Stripe, the next
    one after Stripe charged but before it heard so. The third finishes the renewal."""
    task_queue = f"renewal-crash-{uuid.uuid4().hex[:8]}"
    worker = start_worker(stack, proxy.url, task_queue)
    try:
        customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
        await wait_until_polled(stack.client, task_queue)
        renews_at = datetime.now(UTC) + RENEWS_IN
        subscription = renewing_at(renews_at, customer_id, method_id)
        plan, created_at = subscription.plan, subscription.created_at
        subscription_id = subscription.subscription_id
        started = await stack.client.start_workflow(
            SubscriptionWorkflow.run, subscription, id=subscription_id, task_queue=task_queue
        )
        first_id = f"in_{subscription_id.removeprefix('sub_')}_0001"
        renewal_id = f"in_{subscription_id.removeprefix('sub_')}_0002"

        async def renewal_intents() -> list[str]:
            return await asyncio.to_thread(intent_statuses, stack.stripe_url, renewal_id)

        async def invoice_statuses() -> list[tuple[str, str]]:
            return [(row.id, row.status) for row in await invoices(stack, subscription_id)]

        await eventually(invoice_statuses, lambda rows: rows == [(first_id, "paid")])
        assert datetime.now(UTC) < renews_at, "the first period was billed too late to renew"

        await kill_when_matched(proxy.add(Fault.HOLD, "POST", CONFIRM), worker)
        await eventually(renewal_intents, lambda intents: intents == ["requires_confirmation"])
        assert await invoice_statuses() == [(first_id, "paid"), (renewal_id, "open")]
        proxy.release_all()

        dropped = proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM)
        worker = start_worker(stack, proxy.url, task_queue)
        await kill_when_matched(dropped, worker)
        await eventually(renewal_intents, lambda intents: intents == ["succeeded"])
        assert await invoice_statuses() == [(first_id, "paid"), (renewal_id, "open")]
        proxy.release_all()

        worker = start_worker(stack, proxy.url, task_queue)
        billed = await eventually(
            lambda: invoices(stack, subscription_id),
            lambda rows: [row.status for row in rows] == ["paid", "paid"],
            timeout=60,
        )
        latest = stack.client.get_workflow_handle(subscription_id)
        await eventually(latest.describe, lambda run: run.run_id != started.first_execution_run_id)
        view = await latest.query(SubscriptionWorkflow.state)

        canceled = await latest.execute_update(
            SubscriptionWorkflow.cancel, CancelSubscriptionRequest(at_period_end=False)
        )
    finally:
        worker.kill()
        worker.wait(timeout=10)

    assert [row.id for row in billed] == [first_id, renewal_id]
    assert [(row.amount_due, row.amount_paid) for row in billed] == [(plan.amount, plan.amount)] * 2
    assert billed[0].period_start == created_at
    assert billed[0].period_end == billed[1].period_start == renews_at
    assert billed[1].period_end == period_end(created_at, plan.interval, 2)
    assert intent_statuses(stack.stripe_url, first_id) == ["succeeded"]
    assert intent_statuses(stack.stripe_url, renewal_id) == ["succeeded"]
    assert view.status is SubscriptionStatus.ACTIVE
    assert view.periods_billed == 2
    assert view.latest_invoice_id == renewal_id
    assert view.current_period_end == billed[1].period_end
    assert canceled.status is SubscriptionStatus.CANCELED
