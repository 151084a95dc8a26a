"""PayPal's refund webhooks reach the payment that owns the refund: PayPal's
``PAYMENT.CAPTURE.REFUNDED`` names no order, only the refund Durapay tagged with its own refund
id, so the receiver routes it through the refund to its payment instead of dropping it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from db.models import WebhookEvent
from tests.support.flows import new_customer, new_key, pay
from tests.support.paypal import approved_setup_token
from tests.support.polling import eventually
from tests.support.stack import Stack


async def refund_events(stack: Stack) -> list[tuple[str | None, dict[str, Any]]]:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.provider == "paypal",
                WebhookEvent.type == "PAYMENT.CAPTURE.REFUNDED",
            )
        )
        return [(row.outcome, row.payload) for row in rows]


async def test_a_paypal_refund_event_is_delivered_to_the_refunds_payment(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api)
    saved = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "paypal", "token": approved_setup_token(stack.paypal_url)},
    )
    payment = (await pay(api, customer_id, saved.json()["id"], amount=1500)).json()
    assert payment["status"] == "succeeded"

    refund = await api.post(
        f"/v1/payments/{payment['id']}/refunds",
        json={"amount": 500},
        headers={"Idempotency-Key": new_key()},
    )
    assert refund.status_code in (200, 201), refund.text
    refund_id = refund.json()["id"]

    events = await eventually(
        lambda: refund_events(stack),
        lambda rows: any(
            o is not None and p["resource"].get("custom_id") == refund_id for o, p in rows
        ),
    )
    (outcome,) = [o for o, p in events if p["resource"].get("custom_id") == refund_id]
    assert outcome == "signaled"
