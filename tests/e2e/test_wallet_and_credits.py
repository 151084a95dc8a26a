"""Credits purchases and the wallet end to end: real API, Temporal dev server, worker, localstripe.

A purchase or a deposit is a payment started by a FundingWorkflow; a withdrawal is a
WithdrawalWorkflow refunding the deposits through their payments' own workflows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from stripe import StripeClient

from settings import DEV_ADMIN_KEY
from tests.support.flows import CARD_DECLINED, CARD_OK, card_customer, new_key, saved_card
from tests.support.stack import Stack


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}, timeout=30
    ) as client:
        yield client


async def deposit(
    api: httpx.AsyncClient, customer_id: str, method_id: str, amount: int, key: str | None = None
) -> httpx.Response:
    return await api.post(
        f"/v1/customers/{customer_id}/wallet/deposits",
        json={"amount": amount, "currency": "usd", "payment_method_id": method_id},
        headers={"Idempotency-Key": key or new_key()},
    )


async def withdraw(api: httpx.AsyncClient, customer_id: str, amount: int) -> httpx.Response:
    return await api.post(
        f"/v1/customers/{customer_id}/wallet/withdrawals",
        json={"amount": amount, "currency": "usd"},
        headers={"Idempotency-Key": new_key()},
    )


async def wallet(api: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/customers/{customer_id}/wallet")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def finished_withdrawal(
    api: httpx.AsyncClient, customer_id: str, withdrawal_id: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        listed = await api.get(
            f"/v1/customers/{customer_id}/wallet/transactions", params={"type": "withdrawal"}
        )
        found: dict[str, Any] = next(t for t in listed.json()["data"] if t["id"] == withdrawal_id)
        if found["status"] != "pending":
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{withdrawal_id} stayed pending"
        await asyncio.sleep(0.2)


async def assert_books_balance(admin: httpx.AsyncClient) -> None:
    check = await admin.get("/v1/admin/ledger/check")
    assert check.status_code == 200, check.text
    assert check.json()["ok"] is True, check.json()


async def test_a_withdrawal_of_30_from_a_100_deposit_is_one_refund_of_its_intent(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    deposited = await deposit(api, customer_id, method_id, 10000)
    assert deposited.status_code == 201, deposited.text
    payment = deposited.json()
    assert (payment["status"], payment["amount_captured"]) == ("succeeded", 10000)
    assert await wallet(api, customer_id) == [
        {"currency": "USD", "available": 10000, "locked": 0, "total": 10000}
    ]

    created = await withdraw(api, customer_id, 3000)

    assert created.status_code == 201, created.text
    assert created.json()["id"].startswith("wd_")
    assert created.json()["status"] == "pending"
    finished = await finished_withdrawal(api, customer_id, created.json()["id"])
    assert (finished["status"], finished["refunded"]) == ("succeeded", 3000)
    assert await wallet(api, customer_id) == [
        {"currency": "USD", "available": 7000, "locked": 0, "total": 7000}
    ]
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    refunds = stripe.v1.refunds.list({"payment_intent": payment["provider_reference"]}).data
    assert [r.amount for r in refunds] == [3000]
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["amount_refunded"] == 3000
    await assert_books_balance(admin)
    exported = (await api.get(f"/v1/customers/{customer_id}/export")).json()
    assert exported["wallet"] == [
        {"currency": "USD", "available": 7000, "locked": 0, "total": 7000}
    ]
    assert [(t["type"], t["status"], t["amount"]) for t in exported["wallet_transactions"]] == [
        ("withdrawal", "succeeded", 3000),
        ("deposit", "succeeded", 10000),
    ]
    statement = (await api.get(f"/v1/customers/{customer_id}/statement?currency=usd")).json()
    assert [(line["type"], line["amount"]) for line in statement["lines"]] == [
        ("deposit", 10000),
        ("withdrawal", -3000),
    ]
    assert statement["closing_balance"] == statement["opening_balance"] + 7000 == 7000


async def test_a_withdrawal_the_deposit_can_no_longer_pay_back_is_released(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    """The merchant refunded the deposit through the payments API meanwhile: the payment refuses
    the withdrawal's refund, and the locked amount goes back to available."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await deposit(api, customer_id, method_id, 5000)).json()
    refunded = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={}, headers={"Idempotency-Key": new_key()}
    )
    assert refunded.status_code == 201, refunded.text

    created = await withdraw(api, customer_id, 1000)

    assert created.status_code == 201, created.text
    finished = await finished_withdrawal(api, customer_id, created.json()["id"])
    assert (finished["status"], finished["refunded"]) == ("failed", 0)
    assert await wallet(api, customer_id) == [
        {"currency": "USD", "available": 5000, "locked": 0, "total": 5000}
    ]
    await assert_books_balance(admin)


async def test_a_withdrawal_is_paid_back_from_the_oldest_deposits_first(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    first = (await deposit(api, customer_id, method_id, 2000)).json()
    second = (await deposit(api, customer_id, method_id, 5000)).json()

    created = await withdraw(api, customer_id, 4500)
    refused = await withdraw(api, customer_id, 2501)

    assert created.status_code == 201, created.text
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_funds"
    await finished_withdrawal(api, customer_id, created.json()["id"])
    refunded = [
        (await api.get(f"/v1/payments/{p['id']}")).json()["amount_refunded"]
        for p in (first, second)
    ]
    assert refunded == [2000, 2500]
    assert (await wallet(api, customer_id))[0]["available"] == 2500
    listed = (await api.get(f"/v1/customers/{customer_id}/wallet/transactions")).json()["data"]
    assert [(t["type"], t["amount"]) for t in listed] == [
        ("withdrawal", 4500),
        ("deposit", 5000),
        ("deposit", 2000),
    ], "newest first"

    await assert_books_balance(admin)


async def test_a_declined_deposit_adds_nothing(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_DECLINED)

    response = await deposit(api, customer_id, method_id, 5000)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "failed"
    assert await wallet(api, customer_id) == []
    listed = await api.get(f"/v1/customers/{customer_id}/wallet/transactions")
    assert [(t["type"], t["status"]) for t in listed.json()["data"]] == [("deposit", "failed")]


async def test_credits_are_granted_once_when_the_purchase_payment_succeeds(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    declined = await saved_card(api, stack.stripe_url, customer_id, CARD_DECLINED)
    body = {"credits": 1500, "payment_method_id": method_id}
    key = new_key()

    bought = await api.post(
        f"/v1/customers/{customer_id}/credits/purchase", json=body, headers={"Idempotency-Key": key}
    )
    again = await api.post(
        f"/v1/customers/{customer_id}/credits/purchase", json=body, headers={"Idempotency-Key": key}
    )
    failed = await api.post(
        f"/v1/customers/{customer_id}/credits/purchase",
        json={"credits": 700, "payment_method_id": declined},
        headers={"Idempotency-Key": new_key()},
    )

    assert bought.status_code == 201, bought.text
    purchase = bought.json()
    assert purchase["id"].startswith("ctx_")
    assert (purchase["type"], purchase["credits"], purchase["status"]) == (
        "purchase",
        1500,
        "succeeded",
    )
    assert (again.status_code, again.json()) == (200, purchase)
    payment = (await api.get(f"/v1/payments/{purchase['payment_id']}")).json()
    assert (payment["amount"], payment["currency"], payment["status"]) == (1500, "USD", "succeeded")
    assert failed.json()["status"] == "failed"
    credits = (await api.get(f"/v1/customers/{customer_id}/credits")).json()
    assert credits == {"balance": 1500, "lifetime_purchased": 1500, "lifetime_consumed": 0}
    await assert_books_balance(admin)
    exported = (await api.get(f"/v1/customers/{customer_id}/export")).json()
    assert exported["credits"] == credits
    assert [(t["type"], t["credits"]) for t in exported["credit_transactions"]] == [
        ("purchase", 1500)
    ]
    assert sorted(p["status"] for p in exported["credit_purchases"]) == ["failed", "succeeded"]
