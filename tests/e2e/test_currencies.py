"""Exact currencies end to end: Durapay's API takes ISO 4217 minor units, each provider gets the
very same amount in its own units, and what a provider cannot take exactly is refused up front.

JPY is zero-decimal everywhere; Stripe still writes ISK with two decimals (so ``amount × 100``),
and PayPal takes forints only in whole units, which its sandbox enforces as PayPal does.
"""

from __future__ import annotations

from typing import Any

import httpx
from stripe import StripeClient

from tests.support.flows import CARD_OK, card_customer, new_customer, new_key, pay, wait_for_status
from tests.support.paypal import access_token, buyer_clicks
from tests.support.stack import Stack

SHOP = "https://shop.example/orders/2002"


def _stripe(stack: Stack) -> StripeClient:
    return StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})


def _paypal_order(base_url: str, order_id: str) -> dict[str, Any]:
    """The order as the PayPal sandbox holds it, read as the merchant's server would."""
    response = httpx.get(
        f"{base_url}/v2/checkout/orders/{order_id}",
        headers={"Authorization": f"Bearer {access_token(base_url)}"},
    )
    response.raise_for_status()
    order: dict[str, Any] = response.json()
    return order


async def _refund(api: httpx.AsyncClient, payment_id: str, amount: int) -> httpx.Response:
    return await api.post(
        f"/v1/payments/{payment_id}/refunds",
        json={"amount": amount},
        headers={"Idempotency-Key": new_key()},
    )


async def test_jpy_reaches_stripe_as_the_same_whole_yen(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await pay(api, customer_id, method_id, amount=500, currency="jpy")

    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["currency"], payment["amount_captured"]) == (
        "succeeded",
        "JPY",
        500,
    )
    intent = _stripe(stack).v1.payment_intents.retrieve(payment["provider_reference"])
    assert (intent.amount, intent.currency) == (500, "jpy")


async def test_isk_reaches_stripe_with_its_two_legacy_decimals(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """ISO gives ISK no minor unit; Stripe writes krónur with two decimals. 1500 ISK must be
    150000 at Stripe, and read back as 1500, refunds included."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await pay(api, customer_id, method_id, amount=1500, currency="isk")

    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["amount"], payment["amount_captured"]) == (
        "succeeded",
        1500,
        1500,
    )
    stripe = _stripe(stack)
    intent = stripe.v1.payment_intents.retrieve(payment["provider_reference"])
    assert (intent.amount, intent.currency) == (150000, "isk")

    refund = await _refund(api, payment["id"], 400)

    assert refund.status_code == 201, refund.text
    assert (refund.json()["amount"], refund.json()["currency"]) == (400, "ISK")
    at_stripe = stripe.v1.refunds.list({"payment_intent": intent.id}).data
    assert [r.amount for r in at_stripe] == [40000]
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["amount_refunded"] == 400


async def test_a_huf_checkout_at_paypal_is_in_whole_forints(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api)

    response = await pay(
        api,
        customer_id,
        None,
        amount=250000,
        currency="huf",
        provider="paypal",
        return_url=SHOP,
        capture_method="manual",
    )

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "requires_action"
    order = _paypal_order(stack.paypal_url, payment["provider_reference"])
    assert order["purchase_units"][0]["amount"] == {"currency_code": "HUF", "value": "2500"}

    buyer_clicks(payment["next_action"]["url"], "approve")
    authorized = await wait_for_status(api, payment["id"], "requires_capture")
    assert authorized["amount_capturable"] == 250000
    part = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 200050},
        headers={"Idempotency-Key": new_key()},
    )
    assert part.status_code == 422, part.text
    assert part.json()["code"] == "amount_not_representable"
    assert "whole units" in part.json()["detail"]

    captured = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 200000},
        headers={"Idempotency-Key": new_key()},
    )
    assert captured.status_code == 200, captured.text
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("succeeded", 200000)
    fractional_refund = await _refund(api, payment["id"], 150)
    assert fractional_refund.status_code == 422
    assert fractional_refund.json()["code"] == "amount_not_representable"
    refund = await _refund(api, payment["id"], 50000)
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == 50000


async def test_fillér_paypal_cannot_take_is_refused_before_anything_starts(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await new_customer(api)

    response = await pay(
        api,
        customer_id,
        None,
        amount=1050,
        currency="HUF",
        provider="paypal",
        return_url=SHOP,
    )

    assert response.status_code == 422, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == "amount_not_representable"
    assert "10.50 HUF" in problem["detail"]
    listed = (await api.get("/v1/payments", params={"customer_id": customer_id})).json()
    assert listed["data"] == []
