"""The Temporal server itself crashes (SIGKILL) in the middle of a batch of payments and comes back
on the same port and SQLite file: while it is down the API refuses new payments with 503
``service_unavailable``; once it is back every payment finishes as the merchant asked, and the
provider holds exactly that money, once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from tests.chaos.reconcile import reconcile
from tests.support.chaos import (
    assert_ended_as_asked,
    chaos_rng,
    merchant,
    orders,
    running_worker,
    unfinished_after,
)
from tests.support.codec import TEST_CONVERTER
from tests.support.flows import CARD_DECLINED, CARD_OK, card_customer
from tests.support.in_process_api import in_process_api
from tests.support.stack import Stack
from tests.support.temporal_server import running_temporal

PAYMENTS = 10
SETTLE_BUDGET = 45.0
"""Seconds from the first payment by which every payment must have settled after the restart."""


async def test_payments_finish_after_temporal_restarts(
    api: httpx.AsyncClient, stack: Stack, tmp_path: Path, seed: int
) -> None:
    rng = chaos_rng(seed)
    context = f"seed {seed} (DURAPAY_CHAOS_SEED={seed} replays it)"
    customers = await asyncio.gather(
        *(card_customer(api, stack.stripe_url, CARD_OK) for _ in range(2)),
        card_customer(api, stack.stripe_url, CARD_DECLINED),
    )
    batch = orders(rng, PAYMENTS, list(customers[:-1]), [customers[-1]])
    during_outage = orders(rng, 1, list(customers[:-1]), [customers[-1]])[0]
    task_queue = f"chaos-temporal-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()

    async with running_temporal(tmp_path) as temporal:
        client = await Client.connect(temporal.address, data_converter=TEST_CONVERTER)
        settings = stack.settings.model_copy(
            update={"task_queue": task_queue, "temporal_address": temporal.address}
        )
        async with (
            running_worker(
                stack, client, task_queue, {"DURAPAY_TEMPORAL_ADDRESS": temporal.address}
            ) as worker,
            in_process_api(settings) as chaos_api,
        ):
            async with asyncio.TaskGroup() as merchants:
                deadline = loop.time() + SETTLE_BUDGET
                paying = {
                    order: merchants.create_task(merchant(chaos_api, order, deadline, context))
                    for order in batch
                }
                # At a random moment, but with half the batch still in flight at the latest.
                in_flight = await unfinished_after(
                    paying.values(), rng.uniform(0.3, 1.5), at_least=PAYMENTS // 2
                )
                await temporal.kill()
                refused = await chaos_api.post(
                    "/v1/payments",
                    json=during_outage.body(),
                    headers={"Idempotency-Key": during_outage.key},
                )
                await temporal.start()
                paying[during_outage] = merchants.create_task(
                    merchant(chaos_api, during_outage, deadline, context)
                )
            worker_survived = worker.alive
    payment_ids = {order: task.result() for order, task in paying.items()}

    assert in_flight, f"{context}: the restart found no payment in flight"
    assert (refused.status_code, refused.headers["content-type"]) == (
        503,
        "application/problem+json",
    ), f"{context}: {refused.status_code} {refused.text}"
    assert refused.json()["code"] == "service_unavailable", f"{context}: {refused.text}"
    assert worker_survived, f"{context}: the worker process died during the outage"
    await reconcile(stack, payment_ids.values(), pending_allowed=(), context=context)
    await assert_ended_as_asked(api, payment_ids, context)
