"""Webhooks to merchants: the event types, which status change raises which event, and what a
delivery workflow is given and answers.

The status tables are the one place a new status gets its event: a domain that adds a status
(risk's ``under_review``, a review decision) adds one entry here, and the projection write that
records the status raises the event in the same transaction.
"""

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    """The events a merchant can subscribe an endpoint to (api-contract.md)."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    PAYMENT_CANCELED = "payment.canceled"
    PAYMENT_UNDER_REVIEW = "payment.under_review"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
    REVIEW_CLOSED = "review.closed"
    ALERT_CREATED = "alert.created"


ALL_EVENTS = "*"
"""An endpoint subscribed to ``["*"]`` receives every event type."""

PAYMENT_STATUS_EVENTS: dict[str, EventType] = {
    "succeeded": EventType.PAYMENT_SUCCEEDED,
    "failed": EventType.PAYMENT_FAILED,
    "requires_action": EventType.PAYMENT_REQUIRES_ACTION,
    "canceled": EventType.PAYMENT_CANCELED,
    "under_review": EventType.PAYMENT_UNDER_REVIEW,
}
"""A payment entering one of these statuses raises the event, once per payment and status."""

REVIEW_OUTCOMES: dict[str, str] = {
    "review.approved": "approved",
    "review.rejected": "rejected",
    "review.expired": "expired",
}
"""The payment transitions that close a review, and the outcome ``review.closed`` reports."""

REFUND_STATUS_EVENTS: dict[str, EventType] = {
    "succeeded": EventType.REFUND_SUCCEEDED,
    "failed": EventType.REFUND_FAILED,
}

SUBSCRIPTION_STATUS_EVENTS: dict[str, EventType] = {
    "past_due": EventType.SUBSCRIPTION_PAST_DUE,
    "canceled": EventType.SUBSCRIPTION_CANCELED,
}
"""A subscription's first record raises ``subscription.created``; a later change of status
raises the status's event from this table, or ``subscription.updated`` for any other status."""

INVOICE_STATUS_EVENTS: dict[str, EventType] = {
    "paid": EventType.INVOICE_PAID,
    "uncollectible": EventType.INVOICE_UNCOLLECTIBLE,
}
"""An open invoice whose attempt count grows raises ``invoice.payment_failed`` (once per
attempt); entering one of these statuses raises its event."""


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Anything else: a non-2xx answer, a timeout, a refused address. Retried."""
    ENDPOINT_GONE = "endpoint_gone"
    """The endpoint was deleted or disabled, or no longer wants this event type: nothing to do."""


@dataclass(frozen=True)
class DeliveryInput:
    """One event to one endpoint. ``delivery_id`` is the workflow's own ID (``whd_<evt>_<we>``,
    with a suffix for a redelivery on request), under which every attempt is recorded."""

    delivery_id: str
    event_id: str
    endpoint_id: str
    account_id: str


@dataclass(frozen=True)
class DeliveryAttempt:
    """Attempt ``number`` (from 1) of a delivery: the activity signs and posts the event, and
    records the attempt under (``delivery_id``, ``number``), once however often it runs."""

    delivery_id: str
    event_id: str
    endpoint_id: str
    number: int


@dataclass(frozen=True)
class AttemptResult:
    outcome: AttemptOutcome
    response_code: int | None = None


@dataclass(frozen=True)
class EndpointDisabling:
    endpoint_id: str
    delivery_id: str


@dataclass(frozen=True)
class DeliveryResult:
    outcome: AttemptOutcome
    attempts: int
    endpoint_disabled: bool = False


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: deliveries started for events no one dispatched, events expired."""

    dispatched: int
    expired: int
