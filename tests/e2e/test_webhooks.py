"""Stripe webhooks: verified on the raw body, stored once, turned into one signal."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from db.models import WebhookEvent
from tests.support.flows import CARD_3DS, card_customer, pay, wait_for_status
from tests.support.localstripe import authenticate_3ds
from tests.support.stack import Stack
from tests.support.webhooks import deliver, intent_event, stripe_signature

SUCCEEDED = "payment_intent.succeeded"


async def stored_events(stack: Stack, event_id: str) -> list[WebhookEvent]:
    async with stack.sessions() as session:
        rows = await session.scalars(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        return list(rows)


async def test_forged_or_missing_signature_is_400_and_nothing_is_stored(stack: Stack) -> None:
    payload = intent_event("evt_forged_1", SUCCEEDED, "pay_x", "pi_x")

    forged = await deliver(stack.api_url, payload, stripe_signature(payload, "whsec_wrong"))
    missing = await deliver(stack.api_url, payload, None)
    secret = stack.settings.stripe_webhook_secret.get_secret_value()
    tampered = await deliver(
        stack.api_url, payload.replace(b"pi_x", b"pi_y"), stripe_signature(payload, secret)
    )

    assert (forged.status_code, missing.status_code, tampered.status_code) == (400, 400, 400)
    assert forged.json()["code"] == "invalid_signature"
    assert forged.headers["content-type"] == "application/problem+json"
    assert await stored_events(stack, "evt_forged_1") == []


async def test_same_event_twice_has_one_effect(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_3DS)
    payment = (await pay(api, customer_id, method_id)).json()
    assert payment["status"] == "requires_action"
    authenticate_3ds(
        stack.stripe_url,
        payment["provider_reference"],
        payment["next_action"]["client_secret"],
        success=True,
    )
    await wait_for_status(api, payment["id"], "succeeded")
    timeline_before = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    payload = intent_event("evt_dup_1", SUCCEEDED, payment["id"], payment["provider_reference"])
    secret = stack.settings.stripe_webhook_secret.get_secret_value()

    first = await deliver(stack.api_url, payload, stripe_signature(payload, secret))
    second = await deliver(stack.api_url, payload, stripe_signature(payload, secret))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert len(await stored_events(stack, "evt_dup_1")) == 1
    timeline_after = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert timeline_after == timeline_before


async def test_event_for_unknown_payment_is_stored_for_reconciliation(stack: Stack) -> None:
    payload = intent_event("evt_unknown_1", SUCCEEDED, "", "pi_nobody")
    secret = stack.settings.stripe_webhook_secret.get_secret_value()

    response = await deliver(stack.api_url, payload, stripe_signature(payload, secret))

    assert response.status_code == 200
    [row] = await stored_events(stack, "evt_unknown_1")
    assert row.outcome == "unmatched"
