"""Where a stored provider webhook points: the payment object it is about, and the Durapay ID
written on that object. Read by the webhook receiver when an event arrives and by
reconciliation when it delivers a stored, unmatched event again, so both read a payload alike."""

from dataclasses import dataclass
from typing import Any

from contracts.providers import ProviderName


@dataclass(frozen=True)
class EventTarget:
    reference: str
    """The provider object Durapay records on a payment (a PaymentIntent, a PayPal order);
    empty when the event is about nothing a payment records."""
    tag: str | None
    """The Durapay ID on the object: a payment ID, or a refund ID on a PayPal refund."""


def event_target(provider: ProviderName, payload: dict[str, Any]) -> EventTarget:
    if provider is ProviderName.STRIPE:
        obj: dict[str, Any] = (payload.get("data") or {}).get("object") or {}
        if obj.get("object") != "payment_intent":
            return EventTarget("", None)
        tag = (obj.get("metadata") or {}).get("durapay_payment_id")
        return EventTarget(str(obj.get("id", "")), str(tag) if tag else None)
    resource: dict[str, Any] = payload.get("resource") or {}
    return EventTarget(_paypal_order_id(resource), _paypal_custom_id(resource))


def _paypal_order_id(resource: dict[str, Any]) -> str:
    """Orders are the payment object Durapay records; captures name their order."""
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    if related.get("order_id"):
        return str(related["order_id"])
    return str(resource.get("id", "")) if "purchase_units" in resource else ""


def _paypal_custom_id(resource: dict[str, Any]) -> str | None:
    """Durapay puts the payment id in ``custom_id`` on every order's purchase unit, and the
    refund id on every refund."""
    if resource.get("custom_id"):
        return str(resource["custom_id"])
    units = resource.get("purchase_units") or [{}]
    custom = units[0].get("custom_id")
    return str(custom) if custom else None
