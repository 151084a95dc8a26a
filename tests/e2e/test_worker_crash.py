"""A worker SIGKILLed between creating the PaymentIntent and confirming it: after a restart the
payment finishes, with exactly one charge."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts.payments import PaymentStatus, PaymentTimeouts, SettleRequest, SettleResult
from sandbox.faults.proxy import Fault, FaultProxy
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_OK
from tests.support.localstripe import intent_statuses
from tests.support.net import free_port
from tests.support.stack import Stack
from tests.support.worker_process import start_worker


@pytest.fixture
async def proxy(stack: Stack) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(stack.stripe_url)
    await fault_proxy.start(free_port())
    yield fault_proxy
    await fault_proxy.stop()


async def test_worker_killed_between_create_and_confirm_charges_once(
    api: httpx.AsyncClient, stack: Stack, proxy: FaultProxy
) -> None:
    payment = await saved_card_payment(
        api,
        stack.sessions,
        stack.stripe_url,
        CARD_OK,
        timeouts=PaymentTimeouts(3600, 3600, 3600, provider_call_seconds=3),
        amount=7700,
        currency="USD",
    )
    task_queue = f"crash-{uuid.uuid4().hex[:8]}"
    confirm = proxy.add(Fault.HOLD, "POST", r"/v1/payment_intents/[^/]+/confirm")
    worker = start_worker(stack, proxy.url, task_queue)
    try:
        handle = await stack.client.start_workflow(
            "PaymentWorkflow", payment, id=payment.payment_id, task_queue=task_queue
        )
        await asyncio.wait_for(confirm.matched.wait(), timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        proxy.release_all()
        worker = start_worker(stack, proxy.url, task_queue)

        result = await asyncio.wait_for(
            handle.execute_update(
                "settle", SettleRequest(payment.request_hash), result_type=SettleResult
            ),
            timeout=90,
        )
    finally:
        worker.kill()
        worker.wait(timeout=10)

    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]
