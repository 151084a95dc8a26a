"""What a merchant's back end does, as reusable steps over the real HTTP API."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.support.localstripe import create_card_payment_method

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
CARD_3DS = "4000002760003184"
CARD_DECLINED_AT_ATTACH = "4000000000000002"


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


async def new_customer(api: httpx.AsyncClient, email: str = "ada@example.com") -> str:
    response = await api.post("/v1/customers", json={"email": email, "name": "Ada Lovelace"})
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def saved_card(api: httpx.AsyncClient, stripe_url: str, customer_id: str, number: str) -> str:
    token = create_card_payment_method(stripe_url, number)
    response = await api.post(
        f"/v1/customers/{customer_id}/payment-methods", json={"provider": "stripe", "token": token}
    )
    assert response.status_code == 201, response.text
    method_id: str = response.json()["id"]
    return method_id


async def card_customer(
    api: httpx.AsyncClient, stripe_url: str, number: str, email: str = "ada@example.com"
) -> tuple[str, str]:
    customer_id = await new_customer(api, email)
    return customer_id, await saved_card(api, stripe_url, customer_id, number)


async def pay(
    api: httpx.AsyncClient,
    customer_id: str,
    method_id: str | None,
    *,
    amount: int = 4999,
    currency: str = "usd",
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"amount": amount, "currency": currency, "customer_id": customer_id}
    if method_id is not None:
        body["payment_method_id"] = method_id
    body.update(extra)
    return await api.post("/v1/payments", json=body, headers={"Idempotency-Key": key or new_key()})


async def wait_for_status(
    api: httpx.AsyncClient, payment_id: str, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll ``GET /v1/payments/{id}`` until it shows ``status`` (webhooks arrive asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.get(f"/v1/payments/{payment_id}")
        assert response.status_code == 200, response.text
        payment: dict[str, Any] = response.json()
        if payment["status"] == status:
            return payment
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{payment_id} stayed {payment['status']}, expected {status}")
        await asyncio.sleep(0.2)
