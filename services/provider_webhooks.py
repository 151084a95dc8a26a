"""Provider webhooks in: verify, store once, signal the payment's workflow.

The event is stored before the signal and marked after it, so a crash in between is repaired by
the provider's redelivery (a stored but unprocessed event is signalled again); the workflow itself
ignores an event id it has already seen, and re-reads the provider rather than trusting the
event, so a repeat or a reordering never has a second effect. Each step is its own short
session: none is open while the signal is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from contracts.payments import ProviderEvent
from contracts.provider_events import event_target
from contracts.providers import ProviderName
from contracts.workflow_names import PaymentSignal
from db.repositories import payments as payments_repo
from db.repositories import webhook_events as webhook_events_repo
from db.repositories import webhook_security as webhook_security_repo
from services import errors, temporal, webhook_refusals
from services.paypal_signature import UnverifiableWebhook, verify
from services.runtime import Runtime


@dataclass(frozen=True)
class Receipt:
    """An event accepted; ``duplicate`` when Durapay had received it before."""

    duplicate: bool


async def receive_stripe(runtime: Runtime, payload: bytes, signature: str | None) -> Receipt:
    if not signature:
        await webhook_refusals.refuse(runtime, "stripe", "Missing Stripe-Signature header.")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, runtime.settings.stripe_webhook_secret.get_secret_value()
        )
    except (stripe.SignatureVerificationError, ValueError):
        await webhook_refusals.refuse(
            runtime, "stripe", "The Stripe-Signature does not match this body."
        )
    data = event.to_dict()
    obj: dict[str, Any] = data.get("data", {}).get("object", {}) or {}
    is_intent = obj.get("object") == "payment_intent"
    return await _receive(
        runtime,
        ProviderEvent(
            provider=ProviderName.STRIPE,
            event_id=event.id,
            event_type=event.type,
            reference=str(obj.get("id", "")) if is_intent else "",
        ),
        data,
        payment_id=(obj.get("metadata") or {}).get("durapay_payment_id") if is_intent else None,
    )


async def receive_paypal(runtime: Runtime, headers: Mapping[str, str], payload: bytes) -> Receipt:
    settings = runtime.settings
    try:
        await verify(
            headers,
            payload,
            settings.paypal_webhook_id,
            runtime.paypal_certs,
            max_age=settings.paypal_webhook_max_age,
        )
    except UnverifiableWebhook as error:
        await webhook_refusals.refuse(
            runtime, "paypal", f"The PayPal signature could not be verified: {error}."
        )
    data: dict[str, Any] = json.loads(payload)
    await _accept_transmission_once(runtime, headers["paypal-transmission-id"], data)
    target = event_target(ProviderName.PAYPAL, data)
    return await _receive(
        runtime,
        ProviderEvent(
            provider=ProviderName.PAYPAL,
            event_id=str(data.get("id", "")),
            event_type=str(data.get("event_type", "")),
            reference=target.reference,
        ),
        data,
        payment_id=target.tag,
    )


async def _accept_transmission_once(
    runtime: Runtime, transmission_id: str, data: dict[str, Any]
) -> None:
    """PayPal's signature covers a CRC32 of the body only, so a captured transmission's headers
    could carry another body (another event, another order): a transmission id is accepted for
    the one event it first carried, and its redeliveries (the same event again)."""
    event_id = str(data.get("id", ""))
    async with runtime.database.writing() as session:
        bound = await webhook_security_repo.bind_transmission(
            session, transmission_id, event_id, datetime.now(UTC)
        )
    if bound != event_id:
        await webhook_refusals.refuse(
            runtime, "paypal", "This PayPal transmission was already used for another event."
        )


async def _receive(
    runtime: Runtime, event: ProviderEvent, payload: dict[str, Any], payment_id: str | None
) -> Receipt:
    """Store once, deliver, record the outcome; a processed duplicate is acknowledged only."""
    if not event.event_id:
        raise errors.BadRequest("The event has no id.")
    provider = event.provider.value
    async with runtime.database.writing() as session:
        stored, new = await webhook_events_repo.store_webhook_event(
            session,
            provider=provider,
            event_id=event.event_id,
            type=event.event_type,
            payload=payload,
            received_at=datetime.now(UTC),
        )
    if not new and stored.processed_at is not None:
        runtime.metrics.webhooks.labels(provider, "duplicate").inc()
        return Receipt(duplicate=True)
    outcome = await _deliver(runtime, event, payment_id)
    async with runtime.database.writing() as session:
        await webhook_events_repo.mark_webhook_event(
            session,
            provider=provider,
            event_id=event.event_id,
            outcome=outcome,
            processed_at=datetime.now(UTC),
        )
    runtime.metrics.webhooks.labels(provider, outcome).inc()
    return Receipt(duplicate=not new)


async def _deliver(runtime: Runtime, event: ProviderEvent, payment_id: str | None) -> str:
    """Signal the workflow the event belongs to; the outcome is kept for reconciliation. A
    refund event (PayPal's names no order, only the refund Durapay tagged) goes to the payment
    that owns the refund."""
    if not event.reference:
        if payment_id is None:
            return "ignored"
        async with runtime.database.reading() as session:
            refund = await payments_repo.get_refund(session, payment_id)
        if refund is None:
            return "ignored"
        payment_id = refund.payment_id
    if not payment_id:
        async with runtime.database.reading() as session:
            payment = await payments_repo.find_payment_by_provider_reference(
                session, event.provider.value, event.reference
            )
        payment_id = payment.id if payment else None
    if not payment_id:
        return "unmatched"
    delivered = await temporal.signal_workflow(
        runtime.client, payment_id, PaymentSignal.PROVIDER_EVENT, event
    )
    return "signaled" if delivered else "workflow_closed"
