"""Requests left waiting on Temporal never starve the others of database connections.

The issue: 16 cancels left waiting on their workflows each kept the database connection the
request had opened, the API's pool (15) ran dry, and every other request waited 30 s for a
connection and got 503. Here 20 cancels of authorized payments wait while the fault proxy holds
their cancel calls at Stripe (the workflow answers a cancel once the provider has voided the
authorization), and other requests to the same API must still be answered at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from sandbox.faults.proxy import Fault
from tests.support.flows import CARD_OK, card_customer, pay
from tests.support.proxied import proxied_durapay
from tests.support.stack import Stack

WAITING_CANCELS = 20
"""More than the API's database pool holds (5 connections + 10 overflow)."""
PROMPT = 5.0
"""Seconds other requests may take: far below the pool's 30 s wait for a free connection."""
CANCEL_AT_STRIPE = r"/v1/payment_intents/[^/]+/cancel"


async def authorized_payment(api: httpx.AsyncClient, customer_id: str, method_id: str) -> str:
    response = await pay(api, customer_id, method_id, capture_method="manual")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requires_capture"
    payment_id: str = response.json()["id"]
    return payment_id


async def until(condition: Callable[[], bool], seconds: float, failure: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure()
        await asyncio.sleep(0.05)


async def terminate_running(client: Client, workflow_ids: list[str]) -> None:
    """A run that failed half-way leaves no payment open on a task queue whose worker is gone."""
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test_waiting_cancels cleanup")


async def test_cancels_waiting_on_temporal_leave_other_requests_served(stack: Stack) -> None:
    # A provider call timeout longer than the test: the held calls are not retried meanwhile.
    async with proxied_durapay(stack, provider_call_timeout=timedelta(seconds=60)) as durapay:
        api = durapay.api
        customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
        payment_ids = await asyncio.gather(
            *(authorized_payment(api, customer_id, method_id) for _ in range(WAITING_CANCELS))
        )
        held = durapay.stripe.add(Fault.HOLD, "POST", CANCEL_AT_STRIPE)
        cancels = [
            asyncio.create_task(api.post(f"/v1/payments/{payment_id}/cancel"))
            for payment_id in payment_ids
        ]
        try:
            await until(
                lambda: held.hits == WAITING_CANCELS,
                seconds=15,
                failure=lambda: (
                    f"only {held.hits} of {WAITING_CANCELS} cancels reached Stripe; "
                    "the others waited for something else (a database connection?)"
                ),
            )
            assert not any(cancel.done() for cancel in cancels)

            async with asyncio.timeout(PROMPT):
                read = await api.get(f"/v1/payments/{payment_ids[0]}")
                created = await api.post("/v1/customers", json={"email": "grace@example.com"})
            assert read.status_code == 200, read.text
            assert read.json()["status"] == "requires_capture"
            assert created.status_code == 201, created.text
            assert not any(cancel.done() for cancel in cancels)
        finally:
            durapay.stripe.release_all()
            answers = await asyncio.gather(*cancels, return_exceptions=True)
            await terminate_running(stack.client, payment_ids)
        assert all(
            isinstance(answer, httpx.Response) and answer.json()["status"] == "canceled"
            for answer in answers
        ), answers
