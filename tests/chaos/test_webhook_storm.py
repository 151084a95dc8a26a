"""Webhook storms: every provider event of a batch of payments delivered several times at once, in
shuffled order, mixed with forged deliveries. Durapay must take each genuine event as new exactly
once and store it once, store no forged one, never answer 500, and leave each payment in the state
the provider holds.

- **Stripe, 3-D Secure.** The payments run on a worker behind a fault proxy
  (``tests.support.proxied``) that holds each first confirm until the early part of the storm is
  over (then answers 503, and the retry goes through): the intent already exists at Stripe, which
  sends ``payment_intent.created`` for it, while ``POST /v1/payments`` is still waiting. Each
  payment then meets its fate at the customer's bank — authenticated, failed, or never attempted —
  and the storm carries the events Stripe sends for that fate, signed with the endpoint secret
  (localstripe sends only some of them itself).
- **PayPal checkouts.** The sandbox's own signed events are caught on their way and stormed at
  Durapay instead: approvals (from which Durapay captures) and then the captures, with approvals
  again among them, out of order. Forgeries are unverifiable signatures, a certificate from a host
  that is not PayPal's, and genuine headers over another body.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from random import Random
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from db.models import Payment, WebhookEvent
from sandbox.faults.proxy import Fault
from tests.chaos.reconcile import reconcile
from tests.support.chaos import chaos_rng, chaos_seed
from tests.support.flows import (
    CARD_3DS,
    card_customer,
    new_customer,
    new_key,
    pay,
    wait_for_status,
)
from tests.support.localstripe import TEST_API_KEY, authenticate_3ds
from tests.support.net import free_port
from tests.support.paypal import access_token, buyer_clicks
from tests.support.proxied import Proxied, proxied_durapay
from tests.support.sandbox import Receiver, serving
from tests.support.stack import Stack
from tests.support.webhooks import intent_event, stripe_signature

COPIES = 4
"""How many times each genuine event is delivered."""
STRIPE_HOOK = "/v1/webhooks/stripe"
PAYPAL_HOOK = "/v1/webhooks/paypal"
SHOP = "https://shop.example/orders/storm"


@dataclass(frozen=True)
class Delivery:
    """One POST to a webhook endpoint, and the event id it carries if it is genuine."""

    path: str
    body: bytes
    headers: dict[str, str]
    genuine_id: str | None


@dataclass(frozen=True)
class Answer:
    delivery: Delivery
    status: int
    body: dict[str, Any]


@pytest.fixture(scope="module")
async def proxied(stack: Stack) -> AsyncIterator[Proxied]:
    # A held confirm must not time out and be retried past the hold while the storm is on.
    async with proxied_durapay(stack, provider_call_timeout=timedelta(seconds=60)) as running:
        yield running


async def storm(stack: Stack, deliveries: list[Delivery], rng: Random) -> list[Answer]:
    """Send every delivery at once, in shuffled order, to the session's API over HTTP."""
    shuffled = list(deliveries)
    rng.shuffle(shuffled)

    async def send(client: httpx.AsyncClient, delivery: Delivery) -> Answer:
        response = await client.post(delivery.path, content=delivery.body, headers=delivery.headers)
        return Answer(delivery, response.status_code, response.json())

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        return list(await asyncio.gather(*(send(client, d) for d in shuffled)))


def check_answers(answers: list[Answer]) -> None:
    """Genuine deliveries are acknowledged, exactly one per event as new; forged ones are refused
    as such; nothing else (a 500 least of all)."""
    firsts: Counter[str] = Counter()
    for answer in answers:
        if answer.delivery.genuine_id is None:
            assert (answer.status, answer.body.get("code")) == (400, "invalid_signature"), answer
        else:
            assert answer.status == 200, answer
            if not answer.body["duplicate"]:
                firsts[answer.delivery.genuine_id] += 1
    assert firsts == Counter(genuine_ids(answers)), "each event must be taken as new exactly once"


def genuine_ids(answers: list[Answer]) -> set[str]:
    return {a.delivery.genuine_id for a in answers if a.delivery.genuine_id}


def forged_ids(answers: list[Answer], id_field: str) -> set[str]:
    return {json.loads(a.delivery.body)[id_field] for a in answers if not a.delivery.genuine_id}


async def stored(stack: Stack, provider: str, event_ids: set[str]) -> list[WebhookEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.provider == provider, WebhookEvent.event_id.in_(event_ids)
            )
        )
        return list(rows)


async def check_stored(
    stack: Stack, provider: str, answers: list[Answer], id_field: str, may_close: set[str]
) -> None:
    """Each genuine event stored once and processed: signalled to its payment's workflow, or
    kept for reconciliation when that workflow has ended (only payments in ``may_close``). No
    forged event stored."""
    rows = await stored(stack, provider, genuine_ids(answers))
    assert Counter(row.event_id for row in rows) == Counter(genuine_ids(answers))
    for row in rows:
        reached = {"signaled", "workflow_closed"} if paid_for(row) in may_close else {"signaled"}
        assert row.processed_at is not None and row.outcome in reached, (row.event_id, row.outcome)
    assert await stored(stack, provider, forged_ids(answers, id_field)) == []


def paid_for(row: WebhookEvent) -> str:
    """The Durapay payment a stored event names (Stripe metadata, PayPal ``custom_id``)."""
    if row.provider == "stripe":
        payment_id: str = row.payload["data"]["object"]["metadata"]["durapay_payment_id"]
        return payment_id
    resource = row.payload["resource"]
    custom_id: str = resource.get("custom_id") or resource["purchase_units"][0]["custom_id"]
    return custom_id


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 15
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.05)


async def wait_until_read_again(api: httpx.AsyncClient, payment_id: str) -> None:
    """Until the workflow has re-read the provider because of a webhook, so that a payment found
    where it was has been through webhooks and re-read the provider, not merely been left alone."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        events = (await api.get(f"/v1/payments/{payment_id}/events")).json()["data"]
        if any(event["type"] == "provider.webhook" for event in events):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{payment_id} ignored the storm"
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------------------------------- Stripe


class Fate(StrEnum):
    """What happens at the customer's bank, and so where Stripe leaves the intent."""

    AUTHENTICATED = "succeeded"
    FAILED = "requires_payment_method"
    ABANDONED = "requires_action"


DURAPAY_STATUS = {
    Fate.AUTHENTICATED: "succeeded",
    Fate.FAILED: "failed",
    Fate.ABANDONED: "requires_action",
}
EVENTS_AFTER_CONFIRM = {
    Fate.AUTHENTICATED: ["payment_intent.requires_action", "payment_intent.succeeded"],
    Fate.FAILED: ["payment_intent.requires_action", "payment_intent.payment_failed"],
    Fate.ABANDONED: ["payment_intent.requires_action"],
}
FATES = [Fate.AUTHENTICATED, Fate.FAILED, Fate.ABANDONED] * 2


def stripe_event(stack: Stack, event_type: str, payment_id: str, reference: str) -> list[Delivery]:
    """One event as Stripe would send it, signed with the endpoint secret, ``COPIES`` times."""
    body = intent_event(f"evt_storm_{uuid.uuid4().hex[:16]}", event_type, payment_id, reference)
    headers = {"Stripe-Signature": stripe_signature(body, stripe_secret(stack))}
    return [Delivery(STRIPE_HOOK, body, headers, json.loads(body)["id"])] * COPIES


def stripe_forgeries(stack: Stack, payment_id: str, reference: str) -> list[Delivery]:
    """What an attacker can send, each claiming the payment succeeded: signed with a guessed
    secret, carrying a genuine signature of another body, unsigned, and correctly signed an hour
    ago (a replay, outside Stripe's five-minute tolerance)."""

    def claim() -> bytes:
        event_id = f"evt_forged_{uuid.uuid4().hex[:16]}"
        return intent_event(event_id, "payment_intent.succeeded", payment_id, reference)

    def signed(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
        return {"Stripe-Signature": stripe_signature(body, secret, timestamp)}

    secret = stripe_secret(stack)
    replayed = claim()
    return [
        Delivery(STRIPE_HOOK, claim(), signed(claim(), "whsec_guessed"), None),
        Delivery(STRIPE_HOOK, claim(), signed(claim(), secret), None),
        Delivery(STRIPE_HOOK, claim(), {}, None),
        Delivery(STRIPE_HOOK, replayed, signed(replayed, secret, int(time.time()) - 3600), None),
    ]


def stripe_secret(stack: Stack) -> str:
    return stack.settings.stripe_webhook_secret.get_secret_value()


async def created_intent(stack: Stack, customer_id: str) -> tuple[str, str]:
    """The customer's payment and its PaymentIntent, once Durapay has recorded the intent it
    created (before confirming it)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with stack.sessions() as session:
            payment = await session.scalar(
                select(Payment).where(Payment.customer_id == customer_id)
            )
        if payment is not None and payment.provider_reference is not None:
            return payment.id, payment.provider_reference
        assert asyncio.get_running_loop().time() < deadline, f"no intent for {customer_id}"
        await asyncio.sleep(0.1)


async def intent_status(stack: Stack, reference: str) -> str:
    async with httpx.AsyncClient(
        base_url=stack.stripe_url, headers={"Authorization": f"Bearer {TEST_API_KEY}"}
    ) as stripe:
        response = await stripe.get(f"/v1/payment_intents/{reference}")
        response.raise_for_status()
        status: str = response.json()["status"]
        return status


async def test_stripe_storm_stores_each_event_once_and_ends_where_stripe_is(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    seed = chaos_seed()
    rng = chaos_rng(seed)
    customers = [(await card_customer(api, stack.stripe_url, CARD_3DS)) for _ in FATES]
    held = proxied.stripe.add(
        Fault.HOLD, "POST", r"/v1/payment_intents/[^/]+/confirm", times=len(FATES)
    )
    creating = [
        asyncio.create_task(pay(proxied.api, customer_id, method_id, key=new_key()))
        for customer_id, method_id in customers
    ]
    try:
        created = [await created_intent(stack, customer_id) for customer_id, _ in customers]
        early: list[Delivery] = []
        for payment_id, reference in created:
            early += stripe_event(stack, "payment_intent.created", payment_id, reference)
            early += stripe_forgeries(stack, payment_id, reference)
        answers = await storm(stack, early, rng)
        await until(lambda: held.hits == len(FATES), "every confirm held")
        assert not any(task.done() for task in creating), "the storm must beat the API's answer"
        proxied.stripe.release_all()
        responses = await asyncio.gather(*creating)
    finally:
        proxied.stripe.release_all()
        for task in creating:
            task.cancel()

    late: list[Delivery] = []
    for fate, response, (payment_id, reference) in zip(FATES, responses, created, strict=True):
        assert response.status_code == 201, response.text
        payment = response.json()
        assert (payment["id"], payment["status"]) == (payment_id, "requires_action"), payment
        if fate is not Fate.ABANDONED:
            secret = payment["next_action"]["client_secret"]
            success = fate is Fate.AUTHENTICATED
            authenticate_3ds(stack.stripe_url, reference, secret, success=success)
        for event_type in EVENTS_AFTER_CONFIRM[fate]:
            late += stripe_event(stack, event_type, payment_id, reference)
        late += stripe_forgeries(stack, payment_id, reference)
    answers += await storm(stack, late, rng)

    check_answers(answers)
    for fate, (payment_id, reference) in zip(FATES, created, strict=True):
        if fate is Fate.ABANDONED:
            await wait_until_read_again(api, payment_id)
        shown = await wait_for_status(api, payment_id, DURAPAY_STATUS[fate])
        assert await intent_status(stack, reference) == fate.value, (seed, shown)
    failed = {
        payment_id
        for fate, (payment_id, _) in zip(FATES, created, strict=True)
        if fate is Fate.FAILED
    }
    # A failed payment's workflow ends at once: events after that are kept, not signalled.
    await check_stored(stack, "stripe", answers, "id", may_close=failed)
    await reconcile(stack, [p for p, _ in created], context=f"Stripe storm, seed {seed}")


# ---------------------------------------------------------------------------------------- PayPal

APPROVED_CHECKOUTS = 3
ABANDONED_CHECKOUTS = 2


@contextmanager
def paypal_events_caught(stack: Stack) -> Iterator[Receiver]:
    """The sandbox sends its signed events to a receiver of the test instead of Durapay, which
    then gets them only as the storm delivers them; afterwards they go to Durapay again."""
    receiver = Receiver()
    with serving(receiver.app, free_port()) as url:
        send_paypal_events_to(stack, url + "/")
        try:
            yield receiver
        finally:
            send_paypal_events_to(stack, f"{stack.api_url}{PAYPAL_HOOK}")


def send_paypal_events_to(stack: Stack, url: str) -> None:
    response = httpx.post(
        f"{stack.paypal_url}/_config/webhooks",
        json={"url": url, "webhook_id": stack.settings.paypal_webhook_id},
    )
    response.raise_for_status()


async def caught(
    receiver: Receiver, event_type: str, matches: Callable[[dict[str, Any]], bool]
) -> list[Delivery]:
    """The sandbox's delivery of one event, as it would have reached Durapay, ``COPIES`` times."""
    delivery = await asyncio.to_thread(receiver.wait_for, event_type, matches)
    headers = {k: v for k, v in delivery.headers.items() if k.lower().startswith("paypal-")}
    event_id = str(delivery.event["id"])
    return [Delivery(PAYPAL_HOOK, delivery.body, headers, event_id)] * COPIES


def named(field: str, value: str) -> Callable[[dict[str, Any]], bool]:
    """Matches an event resource whose ``field`` is ``value``."""
    return lambda resource: resource.get(field) == value


async def order_status(stack: Stack, reference: str) -> str:
    token = await asyncio.to_thread(access_token, stack.paypal_url)
    async with httpx.AsyncClient(
        base_url=stack.paypal_url, headers={"Authorization": f"Bearer {token}"}
    ) as paypal:
        response = await paypal.get(f"/v2/checkout/orders/{reference}")
        response.raise_for_status()
        status: str = response.json()["status"]
        return status


def paypal_forgeries(genuine: Delivery, stack: Stack, payment_id: str) -> list[Delivery]:
    """Each claims that the capture of ``payment_id``'s order completed: a made-up signature, a
    certificate from a host that is not PayPal's, and genuine headers over another body."""

    def claim() -> bytes:
        event = json.loads(genuine.body)
        event["id"] = f"WH-FORGED-{uuid.uuid4().hex[:12]}"
        event["event_type"] = "PAYMENT.CAPTURE.COMPLETED"
        event["resource"]["custom_id"] = payment_id
        return json.dumps(event).encode()

    headers = genuine.headers
    made_up = {**headers, "paypal-transmission-sig": "Zm9yZ2VkIHNpZ25hdHVyZQ=="}
    cert = {**headers, "paypal-cert-url": "https://evil.example/v1/notifications/certs/CERT"}
    return [
        Delivery(PAYPAL_HOOK, claim(), made_up, None),
        Delivery(PAYPAL_HOOK, claim(), cert, None),
        Delivery(PAYPAL_HOOK, claim(), headers, None),
    ]


async def test_paypal_storm_stores_each_event_once_and_ends_where_paypal_is(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    seed = chaos_seed()
    rng = chaos_rng(seed)
    with paypal_events_caught(stack) as receiver:
        checkouts = []
        for _ in range(APPROVED_CHECKOUTS + ABANDONED_CHECKOUTS):
            customer_id = await new_customer(api)
            response = await pay(
                proxied.api, customer_id, None, provider="paypal", return_url=SHOP, amount=1800
            )
            assert response.status_code == 201, response.text
            checkouts.append(response.json())
        approved, abandoned = checkouts[:APPROVED_CHECKOUTS], checkouts[APPROVED_CHECKOUTS:]
        approvals: list[Delivery] = []
        for payment in approved:
            await asyncio.to_thread(buyer_clicks, payment["next_action"]["url"], "approve")
            approvals += await caught(
                receiver, "CHECKOUT.ORDER.APPROVED", named("id", payment["provider_reference"])
            )
        forgeries = [
            forgery
            for payment in abandoned
            for forgery in paypal_forgeries(approvals[0], stack, payment["id"])
        ]
        answers = await storm(stack, approvals + forgeries, rng)
        captures: list[Delivery] = []
        for payment in approved:
            captures += await caught(
                receiver, "PAYMENT.CAPTURE.COMPLETED", named("custom_id", payment["id"])
            )

    answers += await storm(stack, captures + approvals[::COPIES] + forgeries, rng)

    check_answers(answers)
    for payment in approved:
        shown = await wait_for_status(api, payment["id"], "succeeded")
        assert shown["amount_captured"] == 1800, (seed, shown)
        assert await order_status(stack, payment["provider_reference"]) == "COMPLETED"
    for payment in abandoned:
        shown = (await api.get(f"/v1/payments/{payment['id']}")).json()
        assert shown["status"] == "requires_action", (seed, shown)
        at_paypal = await order_status(stack, payment["provider_reference"])
        assert at_paypal == "PAYER_ACTION_REQUIRED", (seed, shown)
    await check_stored(stack, "paypal", answers, "id", may_close=set())
    ids = [payment["id"] for payment in checkouts]
    await reconcile(stack, ids, context=f"PayPal storm, seed {seed}")
