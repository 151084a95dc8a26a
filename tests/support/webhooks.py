"""Stripe-signed webhook deliveries for events localstripe does not send itself.

Real Stripe sends ``payment_intent.payment_failed`` when 3-D Secure fails; localstripe sends
nothing. Tests deliver that event the way Stripe would: signed with the endpoint secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def intent_event(event_id: str, event_type: str, payment_id: str, reference: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": reference,
                    "object": "payment_intent",
                    "metadata": {"durapay_payment_id": payment_id},
                }
            },
        }
    ).encode()


async def deliver(api_url: str, payload: bytes, signature: str | None) -> httpx.Response:
    headers = {"Stripe-Signature": signature} if signature else {}
    async with httpx.AsyncClient(base_url=api_url) as client:
        return await client.post("/v1/webhooks/stripe", content=payload, headers=headers)
