"""Every provider fault kind, at Stripe and at PayPal, on the calls that move money, ends in exactly
one charge for the amount asked, a succeeded payment, and books that reconcile.

The worker reaches the stand-ins only through fault proxies (``tests.support.proxied``); each case
breaks the first match(es) of one money-moving call:

- Stripe: creating the PaymentIntent, and confirming it (where the card is charged);
- PayPal: creating an order paid with a saved wallet (PayPal charges it in that very call), and
  capturing a checkout order the buyer approved.

Faults: latency past Durapay's call timeout (the provider gets the first attempt only after the
retry), 5xx, 429 with ``Retry-After``, a connection reset before forwarding (the provider saw
nothing), and a dropped response after forwarding (the provider acted, Durapay never heard).
Stripe's proxy replays a repeated Idempotency-Key as real Stripe does; the PayPal sandbox replays a
repeated ``PayPal-Request-Id`` itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from db.models import WebhookEvent
from sandbox.faults.proxy import Fault, FaultProxy, Rule
from tests.chaos.reconcile import reconcile
from tests.support.flows import CARD_OK, card_customer, new_customer, pay, wait_for_status
from tests.support.paypal import approved_setup_token, buyer_clicks
from tests.support.proxied import Proxied, proxied_durapay
from tests.support.stack import Stack

CALL_TIMEOUT = 2
"""Durapay's start-to-close timeout of one provider call here, in seconds: short, so that the
latency fault outlasts it and the retry overtakes the first attempt."""
LATENCY = CALL_TIMEOUT + 2.5
"""Long enough that the retry (after the timeout and a 1 s back-off) is answered before the first
attempt even reaches the provider."""
AMOUNT = 2500
SHOP = "https://shop.example/orders/chaos"


@dataclass(frozen=True)
class Target:
    """One money-moving provider call and how to make a payment that goes through it."""

    provider: str
    method: str
    path: str
    pay: Callable[[httpx.AsyncClient, Proxied, Stack], Awaitable[str]]
    """Starts a payment through the proxied API (the session's API saves the method first);
    returns its id once the proxied call is due or done."""


@dataclass(frozen=True)
class Injected:
    """A fault kind and how often it strikes."""

    fault: Fault
    times: int
    status: int | None = None
    """The answer of a ``STATUS`` fault."""
    seconds: float = 0.0
    headers: dict[str, str] | None = None


async def saved_card_payment(api: httpx.AsyncClient, proxied: Proxied, stack: Stack) -> str:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    return await _settled(proxied.api, customer_id, method_id)


async def saved_wallet_payment(api: httpx.AsyncClient, proxied: Proxied, stack: Stack) -> str:
    customer_id = await new_customer(api)
    saved = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "paypal", "token": approved_setup_token(stack.paypal_url)},
    )
    assert saved.status_code == 201, saved.text
    return await _settled(proxied.api, customer_id, saved.json()["id"])


async def _settled(client: httpx.AsyncClient, customer_id: str, method_id: str) -> str:
    """Pay with a saved method: the API answers once the faults have been ridden out."""
    response = await pay(client, customer_id, method_id, amount=AMOUNT)
    assert response.status_code == 201, response.text
    payment_id: str = response.json()["id"]
    return payment_id


async def approved_checkout(api: httpx.AsyncClient, proxied: Proxied, stack: Stack) -> str:
    """A PayPal checkout the buyer approves; the capture then happens in the workflow, after the
    sandbox's CHECKOUT.ORDER.APPROVED webhook reached the session's API."""
    customer_id = await new_customer(api)
    response = await pay(
        proxied.api,
        customer_id,
        None,
        amount=AMOUNT,
        provider="paypal",
        return_url=SHOP,
    )
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    assert payment["status"] == "requires_action", payment
    buyer_clicks(payment["next_action"]["url"], "approve")
    payment_id: str = payment["id"]
    return payment_id


TARGETS = {
    "stripe-create": Target("stripe", "POST", r"/v1/payment_intents", saved_card_payment),
    "stripe-confirm": Target(
        "stripe", "POST", r"/v1/payment_intents/[^/]+/confirm", saved_card_payment
    ),
    "paypal-wallet-order": Target("paypal", "POST", r"/v2/checkout/orders", saved_wallet_payment),
    "paypal-capture": Target(
        "paypal", "POST", r"/v2/checkout/orders/[^/]+/capture", approved_checkout
    ),
}
FAULTS = {
    "latency": Injected(Fault.DELAY, times=1, seconds=LATENCY),
    "5xx": Injected(Fault.STATUS, times=2, status=503),
    "429": Injected(Fault.STATUS, times=1, status=429, headers={"Retry-After": "1"}),
    "reset": Injected(Fault.RESET, times=1),
    "dropped-response": Injected(Fault.DROP_RESPONSE, times=1),
}


def error_body(provider: str, status: int) -> dict[str, object]:
    """What each provider really answers with that status, so its SDK parses it as it would."""
    if provider == "stripe":
        if status == 429:
            error = {"type": "invalid_request_error", "code": "rate_limit"}
        else:
            error = {"type": "api_error"}
        return {"error": {**error, "message": "injected by the proxy"}}
    name = "RATE_LIMIT_REACHED" if status == 429 else "INTERNAL_SERVER_ERROR"
    return {"name": name, "message": "injected by the proxy", "debug_id": "chaos0001"}


@pytest.fixture(scope="module")
async def proxied(stack: Stack) -> AsyncIterator[Proxied]:
    async with proxied_durapay(
        stack, provider_call_timeout=timedelta(seconds=CALL_TIMEOUT)
    ) as running:
        yield running


def proxy_for(proxied: Proxied, provider: str) -> FaultProxy:
    return proxied.stripe if provider == "stripe" else proxied.paypal


async def captures_paypal_reported(stack: Stack, payment_id: str) -> int:
    """How many captures PayPal made for the payment, as its PAYMENT.CAPTURE.COMPLETED webhooks
    tell: the sandbox cannot list orders, so this is the only provider-side witness of a second
    order paid for the same payment."""
    async with stack.sessions() as session:
        events = await session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.provider == "paypal",
                WebhookEvent.type == "PAYMENT.CAPTURE.COMPLETED",
            )
        )
        return sum(1 for e in events if e.payload["resource"].get("custom_id") == payment_id)


async def wait_for_paypal_capture_report(stack: Stack, payment_id: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while await captures_paypal_reported(stack, payment_id) == 0:
        assert asyncio.get_running_loop().time() < deadline, f"no capture webhook for {payment_id}"
        await asyncio.sleep(0.1)


async def matched_at(rule: Rule) -> float:
    """When the rule first struck (loop time)."""
    await rule.matched.wait()
    return asyncio.get_running_loop().time()


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("target_name", list(TARGETS))
async def test_fault_on_a_money_moving_call_charges_exactly_once(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied, target_name: str, fault_name: str
) -> None:
    target, injected = TARGETS[target_name], FAULTS[fault_name]
    proxy = proxy_for(proxied, target.provider)
    rule = proxy.add(
        injected.fault,
        target.method,
        target.path,
        times=injected.times,
        status=injected.status or 503,
        seconds=injected.seconds,
        body=error_body(target.provider, injected.status) if injected.status else None,
        headers=injected.headers,
    )
    struck = asyncio.create_task(matched_at(rule))
    try:
        payment_id = await target.pay(api, proxied, stack)
        payment = await wait_for_status(proxied.api, payment_id, "succeeded")
        # A delayed first attempt reaches the provider only now: let it, so that whatever it
        # does is in the books before they are checked.
        first_attempt_arrives = await asyncio.wait_for(struck, 30) + injected.seconds + 0.5
        await asyncio.sleep(first_attempt_arrives - asyncio.get_running_loop().time())
    finally:
        struck.cancel()
        proxy.rules.remove(rule)

    assert rule.hits == injected.times
    assert (payment["provider"], payment["amount_captured"]) == (target.provider, AMOUNT)
    if target.provider == "paypal":
        await wait_for_paypal_capture_report(stack, payment_id)
        assert await captures_paypal_reported(stack, payment_id) == 1
    await reconcile(stack, [payment_id], pending_allowed=(), context=f"{target_name}/{fault_name}")
