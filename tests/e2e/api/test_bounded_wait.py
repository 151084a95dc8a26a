"""``POST /v1/payments`` waits a bounded time: past it the answer is 202 ``processing`` and the
payment carries on; asking again with the same key returns it once it has settled."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from api.main import create_app
from sandbox.faults.proxy import Fault
from settings import DEV_CLIENT_KEY, Settings
from tests.e2e.test_provider_faults import CONFIRM, faulty_worker
from tests.support.flows import CARD_OK, card_customer, new_key, pay, wait_for_status
from tests.support.stack import Stack


async def pay_with_no_wait(
    settings: Settings, stack: Stack, customer_id: str, method_id: str, key: str
) -> httpx.Response:
    """``POST /v1/payments`` through an API whose bounded wait is none at all."""
    impatient = settings.model_copy(update={"payment_settle_wait": timedelta(0)})
    app = create_app(impatient, client=stack.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://impatient",
            headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        ) as client,
    ):
        return await pay(client, customer_id, method_id, key=key)


async def test_slow_settlement_is_202_then_final(api: httpx.AsyncClient, stack: Stack) -> None:
    """A confirm Stripe takes 12 s to answer outlasts a wait of none at all. The charge runs in
    the workflow's first task, which accepts the settle update when it completes: its local
    attempt at the confirm gives up after ``LOCAL_ATTEMPT_TIMEOUT`` (3 s) and leaves the call to
    a normal activity, so the answer comes then, not when Stripe answers."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()
    async for slow in faulty_worker(stack, replay_idempotent=True):
        slow.proxy.add(Fault.DELAY, "POST", CONFIRM, times=1, seconds=12)
        started = time.monotonic()
        first = await pay_with_no_wait(slow.settings, stack, customer_id, method_id, key)

        assert time.monotonic() - started < 6
        assert first.status_code == 202
        assert first.json()["status"] == "processing"
        settled = await wait_for_status(api, first.json()["id"], "succeeded")
    again = await pay(api, customer_id, method_id, key=key)
    assert again.status_code == 200
    assert again.json() == settled


async def test_a_payment_settled_as_its_start_was_accepted_is_201_even_with_no_wait(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """The charge runs in the workflow's first task, so the settle update may come back with
    its outcome as it is accepted: that answer is the payment, created, not a wait run out."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    first = await pay_with_no_wait(stack.settings, stack, customer_id, method_id, new_key())

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded"
