"""Provider webhooks in: verify, store once, signal the payment's workflow.

The event is stored before the signal and marked after it, so a crash in between is repaired by
the provider's redelivery (a stored but unprocessed event is signalled again); the workflow itself
ignores an event id it has already seen, so a repeat never has a second effect.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api import commands, errors
from api.deps import ServicesDep, SessionDep
from db import repository
from workflows.types import ProviderEvent, ProviderName

log = logging.getLogger("durapay.webhooks")

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("/stripe")
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    payload = await request.body()
    if not stripe_signature:
        raise errors.InvalidSignature("Missing Stripe-Signature header.")
    try:
        event = stripe.Webhook.construct_event(
            payload, stripe_signature, services.settings.stripe_webhook_secret.get_secret_value()
        )
    except (stripe.SignatureVerificationError, ValueError):
        raise errors.InvalidSignature("The Stripe-Signature does not match this body.") from None
    data = event.to_dict()
    obj: dict[str, Any] = data.get("data", {}).get("object", {}) or {}
    stored, new = await repository.store_webhook_event(
        session,
        provider=ProviderName.STRIPE.value,
        event_id=event.id,
        type=event.type,
        payload=data,
        received_at=datetime.now(UTC),
    )
    await session.commit()
    if not new and stored.processed_at is not None:
        services.metrics.webhooks.labels("stripe", "duplicate").inc()
        return {"received": True, "duplicate": True}
    outcome = await _deliver(session, services, event.id, event.type, obj)
    await repository.mark_webhook_event(
        session,
        provider=ProviderName.STRIPE.value,
        event_id=event.id,
        outcome=outcome,
        processed_at=datetime.now(UTC),
    )
    await session.commit()
    services.metrics.webhooks.labels("stripe", outcome).inc()
    return {"received": True, "duplicate": not new}


async def _deliver(
    session: AsyncSession,
    services: ServicesDep,
    event_id: str,
    event_type: str,
    obj: dict[str, Any],
) -> str:
    """Signal the workflow the event belongs to; the outcome is kept for reconciliation."""
    if obj.get("object") != "payment_intent":
        return "ignored"
    reference = str(obj.get("id", ""))
    payment_id = (obj.get("metadata") or {}).get("durapay_payment_id")
    if not payment_id:
        payment = await repository.find_payment_by_provider_reference(
            session, ProviderName.STRIPE.value, reference
        )
        payment_id = payment.id if payment else None
    if not payment_id:
        return "unmatched"
    delivered = await commands.signal_workflow(
        services.client,
        payment_id,
        "provider_event",
        ProviderEvent(
            provider=ProviderName.STRIPE,
            event_id=event_id,
            event_type=event_type,
            reference=reference,
        ),
    )
    return "signaled" if delivered else "workflow_closed"
