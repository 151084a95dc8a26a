"""Renewals of several subscriptions while the only worker is SIGKILLed at random moments: every
subscription ends with its two periods billed and paid, and no period is billed twice.

Each subscription is started a period old but for a few seconds (``tests.support.renewals``):
its first period is billed at once, its renewal falls due while the test watches, and the
renewals of all of them are spread over a window in which the worker is killed and forked again.
Renewal confirms go through a fault proxy that drops the answer of some of them after Stripe
charged: the worker never hears that the money moved. ``DURAPAY_CHAOS_SUBSCRIPTIONS`` sets how
many (5 here, 20 in ``make chaos``); ``DURAPAY_CHAOS_SEED`` replays a run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from contracts.billing import InvoiceStatus
from contracts.subscriptions import (
    CancelSubscriptionRequest,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
)
from db.models import Invoice
from sandbox.faults.proxy import Fault, FaultProxy
from tests.chaos.reconcile import no_period_billed_twice
from tests.support.chaos import chaos_rng, running_worker
from tests.support.flows import CARD_OK, card_customer
from tests.support.net import free_port
from tests.support.polling import eventually
from tests.support.renewals import CONFIRM, renewing_at
from tests.support.stack import Stack
from tests.support.subscriptions import invoices
from workflows.policies.invoicing import period_end
from workflows.subscription import SubscriptionWorkflow

T = TypeVar("T")
RENEWAL_SPACING = 0.8
"""Seconds between two renewals falling due, on average."""
KILL_SPACING = 3.0
"""Seconds the window allows per kill: a kill, up to a second dead, a fork that polls (which
takes seconds more on two busy cores: late kills follow each other as ``WORKER_LIFE`` allows)."""
WORKER_LIFE = (0.3, 2.5)
"""Seconds a new worker polls, at least, before the next kill: long enough to pick up work."""
FIRST_BILLING_LEAD = 5.0
"""Seconds from the start until the first renewal falls due, plus ``FIRST_BILLING_PER_SUB`` per
subscription: every first period must be paid by then (the dropped confirms are renewals')."""
FIRST_BILLING_PER_SUB = 0.3
SETTLE_BUDGET = 60.0
"""Seconds after the window by which every renewal must be paid; a killed worker's database
activity is retried only after its 30 s start-to-close timeout..."""
RESTART_ALLOWANCE = 5.0
"""...plus this per kill."""


@dataclass(frozen=True)
class Renewing:
    """One subscription of the test and when its renewal falls due."""

    input: SubscriptionInput
    renews_at: datetime

    @property
    def id(self) -> str:
        return self.input.subscription_id

    def invoice_id(self, number: int) -> str:
        return f"in_{self.id.removeprefix('sub_')}_{number:04d}"


async def test_renewals_survive_worker_kills_and_bill_each_period_once(
    api: httpx.AsyncClient, stack: Stack, chaos_subscriptions: int, seed: int
) -> None:
    """S subscriptions renew over a window in which the worker is SIGKILLed up to
    ``max(2, S // 2)`` times, each time with renewals due and unpaid, and forked again after up
    to a second. Kills that slow restarts push past the last renewal are not made; at least half
    must land."""
    rng = chaos_rng(seed)
    context = f"seed {seed} (DURAPAY_CHAOS_SEED={seed} replays it)"
    count = chaos_subscriptions
    kills = max(2, count // 2)
    drops = max(1, count // 4)
    window = max(4.0, count * RENEWAL_SPACING, kills * KILL_SPACING)
    lead = FIRST_BILLING_LEAD + count * FIRST_BILLING_PER_SUB
    task_queue = f"chaos-renewals-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()
    proxy = FaultProxy(stack.stripe_url)
    await proxy.start(free_port())
    # Customers are made while the worker's zygote imports Durapay.
    making = asyncio.gather(*(card_customer(api, stack.stripe_url, CARD_OK) for _ in range(count)))
    renewing: list[Renewing] = []
    in_flight_at_kills: list[int] = []
    try:
        async with running_worker(
            stack, stack.client, task_queue, {"DURAPAY_STRIPE_API_BASE": proxy.url}
        ) as worker:
            customers = await making
            began, started = loop.time(), datetime.now(UTC)
            offsets = sorted(lead + window * (i + rng.random()) / count for i in range(count))
            for (customer_id, method_id), offset in zip(customers, offsets, strict=True):
                renewing.append(subscription(customer_id, method_id, started, offset))
            await asyncio.gather(
                *(
                    stack.client.start_workflow(
                        SubscriptionWorkflow.run, sub.input, id=sub.id, task_queue=task_queue
                    )
                    for sub in renewing
                )
            )
            await within(
                lambda: paid_invoices(stack, [sub.invoice_id(1) for sub in renewing]),
                lambda paid: len(paid) == count,
                lead + window,
                f"{context}: first invoices paid",
            )
            # From now on every confirm is a renewal's: some are charged and their answer lost.
            dropped = proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM, times=drops)
            renewal_ids = [sub.invoice_id(2) for sub in renewing]

            async def in_flight() -> int:
                """Renewals due and not paid yet."""
                now = datetime.now(UTC)
                due = {sub.invoice_id(2) for sub in renewing if sub.renews_at <= now}
                return len(due - await paid_invoices(stack, renewal_ids))

            polling_since = began
            for at in sorted(rng.uniform(lead, lead + window) for _ in range(kills)):
                # Late after slow restarts, a kill still lets the new worker work for a while.
                life = rng.uniform(*WORKER_LIFE)
                await asyncio.sleep(max(began + at, polling_since + life) - loop.time())
                while not (flying := await in_flight()):
                    # A kill with no renewal under way would test nothing: wait for the next due.
                    now = datetime.now(UTC)
                    later = [sub.renews_at for sub in renewing if sub.renews_at > now]
                    if not later:
                        break
                    await asyncio.sleep((min(later) - now).total_seconds() + 0.05)
                if not flying:
                    # Slow restarts pushed this kill past the last renewal, and all are paid.
                    break
                in_flight_at_kills.append(flying)
                await worker.kill()
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                await worker.start()
                polling_since = loop.time()

            await within(
                lambda: paid_invoices(stack, renewal_ids),
                lambda paid: len(paid) == count,
                SETTLE_BUDGET + RESTART_ALLOWANCE * kills,
                f"{context}: renewal invoices paid",
            )
            views = await asyncio.gather(*(renewed_view(stack, sub, context) for sub in renewing))
            canceled = await asyncio.gather(*(cancel(stack, sub.id) for sub in renewing))
            starts = worker.starts
    finally:
        making.cancel()
        await proxy.stop()
        await terminate_open(stack, [sub.id for sub in renewing])

    made = len(in_flight_at_kills)
    assert made >= max(2, kills // 2), (
        f"{context}: only {made} of {kills} kills found renewals in flight ({in_flight_at_kills})"
    )
    assert starts == made + 1, f"{context}: {starts} worker starts for {made} kills"
    assert dropped.hits >= 1, f"{context}: no renewal confirm had its answer dropped"
    await no_period_billed_twice(stack, [sub.id for sub in renewing], context=context)
    for sub, view, ended in zip(renewing, views, canceled, strict=True):
        plan = sub.input.plan
        created_at = sub.input.created_at
        billed = await invoices(stack, sub.id)
        where = f"{context}: {sub.id}"
        assert [(row.id, row.status) for row in billed] == [
            (sub.invoice_id(1), InvoiceStatus.PAID),
            (sub.invoice_id(2), InvoiceStatus.PAID),
        ], f"{where}: {[(row.id, row.status) for row in billed]}"
        assert [(row.amount_due, row.amount_paid) for row in billed] == [
            (plan.amount, plan.amount)
        ] * 2, f"{where}: {[(row.amount_due, row.amount_paid) for row in billed]}"
        periods = [(row.period_start, row.period_end) for row in billed]
        assert periods == [
            (created_at, sub.renews_at),
            (sub.renews_at, period_end(created_at, plan.interval, 2)),
        ], f"{where}: periods {periods}"
        assert (view.periods_billed, view.current_period_end) == (2, billed[1].period_end), (
            f"{where}: {view}"
        )
        assert ended.status is SubscriptionStatus.CANCELED, f"{where}: {ended}"


def subscription(customer_id: str, method_id: str, started: datetime, renews_in: float) -> Renewing:
    """A Pro subscription started a period before ``renews_in`` seconds after ``started``."""
    renews_at = started + timedelta(seconds=renews_in)
    return Renewing(renewing_at(renews_at, customer_id, method_id), renews_at)


async def paid_invoices(stack: Stack, invoice_ids: Sequence[str]) -> set[str]:
    async with stack.sessions() as session:
        return set(
            await session.scalars(
                select(Invoice.id).where(
                    Invoice.id.in_(invoice_ids), Invoice.status == InvoiceStatus.PAID
                )
            )
        )


async def within(
    read: Callable[[], Awaitable[T]], accept: Callable[[T], object], timeout: float, what: str
) -> T:
    """``eventually``, with the seed and what was awaited in the message."""
    try:
        return await eventually(read, accept, timeout)
    except AssertionError as error:
        raise AssertionError(f"{what} within {timeout:.0f} s: {error}") from None


async def renewed_view(stack: Stack, sub: Renewing, context: str) -> SubscriptionView:
    """The subscription's state once the renewal is paid and recorded (an active second period)."""
    handle = stack.client.get_workflow_handle(sub.id)

    async def state() -> SubscriptionView:
        view: SubscriptionView = await handle.query(SubscriptionWorkflow.state)
        return view

    return await within(
        state,
        lambda view: (
            view.status is SubscriptionStatus.ACTIVE
            and view.latest_invoice_id == sub.invoice_id(2)
            and view.current_period_start == sub.renews_at
        ),
        30,
        f"{context}: {sub.id} active in its second period",
    )


async def cancel(stack: Stack, subscription_id: str) -> SubscriptionView:
    handle = stack.client.get_workflow_handle(subscription_id)
    view: SubscriptionView = await handle.execute_update(
        SubscriptionWorkflow.cancel, CancelSubscriptionRequest(at_period_end=False)
    )
    return view


async def terminate_open(stack: Stack, subscription_ids: Collection[str]) -> None:
    """A failed run leaves no subscription waiting for a worker that will never come back."""
    for subscription_id in subscription_ids:
        handle = stack.client.get_workflow_handle(subscription_id)
        try:
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason="chaos test over")
        except RPCError:
            pass  # never started (the failure came first)
