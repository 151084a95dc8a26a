"""A worker SIGKILLed in the middle of a withdrawal, while the refund of its first deposit is on
its way to Stripe: after a restart the withdrawal finishes with exactly one refund per deposit,
for exactly the planned amounts, and balances that match the ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from stripe import StripeClient

from sandbox.faults.proxy import Fault, FaultProxy
from settings import DEV_ADMIN_KEY
from tests.e2e.test_wallet_and_credits import deposit, finished_withdrawal, wallet, withdraw
from tests.support.chaos import running_worker
from tests.support.flows import CARD_OK, card_customer, new_key
from tests.support.in_process_api import in_process_api
from tests.support.net import free_port
from tests.support.stack import Stack


@pytest.fixture
async def proxy(stack: Stack) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(stack.stripe_url)
    await fault_proxy.start(free_port())
    yield fault_proxy
    await fault_proxy.stop()


async def settled_deposit(
    api: httpx.AsyncClient, customer_id: str, method_id: str, amount: int
) -> dict[str, Any]:
    """A deposit, sent again with its key while the API answers 503 (a cold worker not polling
    yet), as a merchant is told to."""
    key = new_key()
    for _ in range(10):
        response = await deposit(api, customer_id, method_id, amount, key=key)
        if response.status_code != 503:
            assert response.status_code in (200, 201), response.text
            payment: dict[str, Any] = response.json()
            return payment
    raise AssertionError(f"the deposit stayed unavailable: {response.text}")


async def test_a_worker_killed_mid_withdrawal_ends_with_exactly_the_right_refunds(
    api: httpx.AsyncClient, stack: Stack, proxy: FaultProxy
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    task_queue = f"withdrawal-kill-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": task_queue})
    async with (
        running_worker(
            stack, stack.client, task_queue, {"DURAPAY_STRIPE_API_BASE": proxy.url}
        ) as worker,
        in_process_api(settings, stack.client) as wallet_api,
    ):
        older = await settled_deposit(wallet_api, customer_id, method_id, 2000)
        newer = await settled_deposit(wallet_api, customer_id, method_id, 8000)
        assert (older["status"], newer["status"]) == ("succeeded", "succeeded")
        first_refund = proxy.add(Fault.HOLD, "POST", r"/v1/refunds$", times=1)

        created = await withdraw(wallet_api, customer_id, 3000)
        assert created.status_code == 201, created.text
        await asyncio.wait_for(first_refund.matched.wait(), timeout=60)
        await worker.kill()
        assert await wallet(api, customer_id) == [
            {"currency": "USD", "available": 7000, "locked": 3000, "total": 10000}
        ]
        proxy.release_all()
        await worker.start()

        finished = await finished_withdrawal(
            wallet_api, customer_id, created.json()["id"], timeout=120
        )

    assert (finished["status"], finished["refunded"]) == ("succeeded", 3000)
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    refunds = [
        [r.amount for r in stripe.v1.refunds.list({"payment_intent": p["provider_reference"]})]
        for p in (older, newer)
    ]
    assert refunds == [[2000], [1000]]
    assert await wallet(api, customer_id) == [
        {"currency": "USD", "available": 7000, "locked": 0, "total": 7000}
    ]
    check = await api.get(
        "/v1/admin/ledger/check", headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
    )
    assert check.json()["ok"] is True, check.json()
