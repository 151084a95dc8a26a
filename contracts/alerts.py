"""Alerts: what an operator should look at, raised by the API, the workflows and reconciliation."""

from dataclasses import dataclass
from enum import StrEnum


class AlertKind(StrEnum):
    FAILED_ATTEMPTS = "failed_attempts"
    VELOCITY = "velocity"
    LARGE_AMOUNT = "large_amount"
    BLOCKED_BY_RISK = "blocked_by_risk"
    INVALID_WEBHOOK_SIGNATURE = "invalid_webhook_signature"
    RECONCILIATION_DRIFT = "reconciliation_drift"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class AlertRequest:
    """Raise an alert unless one of the same ``kind`` and ``cause`` was raised in the same window.

    ``cause`` is what the alert is about, an ID (``cus_…``, ``we_…``, ``pi_…``) or a source
    (``stripe``), never personal data. ``window_seconds`` cuts time into fixed UTC windows
    (an hour by default): a second alert of the same cause in the same window is not raised,
    even after the first was resolved. ``detail`` is a sentence for the operator, IDs and
    amounts only.
    """

    account_id: str
    kind: AlertKind
    severity: AlertSeverity
    cause: str
    detail: str
    customer_id: str | None = None
    payment_id: str | None = None
    window_seconds: int = 3600


@dataclass(frozen=True)
class RaisedAlert:
    """``created`` is False when the window's alert for this cause already existed."""

    id: str
    created: bool
