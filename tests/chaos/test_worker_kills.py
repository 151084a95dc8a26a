"""Payments through the API while the only worker is SIGKILLed and started again at random
moments: every payment still ends as the merchant asked, and the provider holds exactly that money,
once. ``DURAPAY_CHAOS_PAYMENTS`` sets how many (20 here, 100 in ``make chaos``)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.chaos.reconcile import reconcile
from tests.support.chaos import (
    Order,
    assert_ended_as_asked,
    chaos_rng,
    merchant,
    orders,
    running_worker,
)
from tests.support.flows import CARD_DECLINED, CARD_OK, card_customer
from tests.support.in_process_api import in_process_api
from tests.support.stack import Stack

SUBMIT_INTERVAL = 0.35
"""Seconds between two payments of the stream (the window is at least six seconds)."""
SETTLE_BUDGET = 40.0
"""Seconds after the window by which every payment must have settled, captured and refunded..."""
RESTART_ALLOWANCE = 8.0
"""...plus this per kill: a forked worker polls about five seconds after the kill."""


async def test_payments_survive_worker_kills_at_random_moments(
    api: httpx.AsyncClient, stack: Stack, chaos_payments: int, seed: int
) -> None:
    """Payments are submitted as a steady stream over a window; the worker is killed at random
    moments of it (several payments are always in flight then) and a new one forked after up to
    a second, which polls a few seconds later."""
    rng = chaos_rng(seed)
    context = f"seed {seed} (DURAPAY_CHAOS_SEED={seed} replays it)"
    kills = max(3, chaos_payments // 10)
    window = max(6.0, chaos_payments * SUBMIT_INTERVAL)
    kill_times = sorted(rng.uniform(0.5, window) for _ in range(kills))
    customers = await asyncio.gather(
        *(card_customer(api, stack.stripe_url, CARD_OK) for _ in range(3)),
        card_customer(api, stack.stripe_url, CARD_DECLINED),
    )
    batch = orders(rng, chaos_payments, list(customers[:-1]), [customers[-1]])
    task_queue = f"chaos-kills-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": task_queue})
    loop = asyncio.get_running_loop()
    paying: dict[Order, asyncio.Task[str]] = {}
    in_flight_at_kills = []

    async with (
        running_worker(stack, stack.client, task_queue) as worker,
        in_process_api(settings, stack.client) as chaos_api,
        asyncio.TaskGroup() as merchants,
    ):
        deadline = loop.time() + window + SETTLE_BUDGET + RESTART_ALLOWANCE * kills

        next_payment = asyncio.Event()

        async def submit() -> None:
            for order in batch:
                paying[order] = merchants.create_task(merchant(chaos_api, order, deadline, context))
                next_payment.set()
                await asyncio.sleep(window / len(batch))

        merchants.create_task(submit())
        began = loop.time()
        for at in kill_times:
            await asyncio.sleep(max(0.0, began + at - loop.time()))
            if not any(not task.done() for task in paying.values()) and len(paying) < len(batch):
                # A kill between two payments of the stream would test nothing: wait for the next.
                next_payment.clear()
                await next_payment.wait()
            in_flight_at_kills.append(sum(not task.done() for task in paying.values()))
            await worker.kill()
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            await worker.start()
    payment_ids = {order: task.result() for order, task in paying.items()}

    assert all(in_flight_at_kills), f"{context}: kills found {in_flight_at_kills} in flight"
    assert worker.starts == kills + 1
    await reconcile(stack, payment_ids.values(), pending_allowed=(), context=context)
    await assert_ended_as_asked(api, payment_ids, context)
