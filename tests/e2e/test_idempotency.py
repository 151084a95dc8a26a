"""One Idempotency-Key, one payment, one charge — however many times and however fast it is sent."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.flows import CARD_OK, card_customer, new_key, pay
from tests.support.localstripe import intent_statuses
from tests.support.stack import Stack


async def test_twenty_concurrent_requests_make_one_payment(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()

    responses = await asyncio.gather(
        *(pay(api, customer_id, method_id, amount=1234, key=key) for _ in range(20))
    )

    assert {r.status_code for r in responses} <= {200, 201}
    assert sum(r.status_code == 201 for r in responses) == 1
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["status"] == "succeeded"
    assert intent_statuses(stack.stripe_url, bodies[0]["id"]) == ["succeeded"]
    listed = (await api.get("/v1/payments", params={"customer_id": customer_id})).json()["data"]
    assert len(listed) == 1


async def test_same_key_with_another_body_is_409(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()
    first = await pay(api, customer_id, method_id, amount=1000, key=key)
    assert first.status_code == 201

    reused = await pay(api, customer_id, method_id, amount=2000, key=key)
    replay = await pay(api, customer_id, method_id, amount=1000, key=key)

    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert replay.status_code == 200
    assert replay.json() == first.json()
