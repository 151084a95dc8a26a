"""What an operator reads as a workflow's *current details* in the Temporal Web UI.

Moments are written in ISO 8601, UTC, to the second (``2026-05-01T12:00:00Z``), as the API writes
them, rather than Python's ``str(datetime)``. Current details are no workflow command: rewording
them never changes what a replay expects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.payments import PaymentStatus, PaymentView
from money import format_amount


def at(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC; a naive moment is taken as UTC, as Durapay stores them."""
    utc = moment if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: int, currency: str) -> str:
    """``1000, "USD"`` → ``10.00 USD``: minor units as people read them."""
    return f"{format_amount(amount, currency)} {currency}"


def open_for_refunds(until: datetime | None) -> str:
    return "open for refunds" if until is None else f"open for refunds until {at(until)}"


def payment_completed(payment: PaymentView) -> str:
    """The last details of a payment's workflow, which the UI keeps showing once it completed:
    what the payment ended as."""
    if payment.status is PaymentStatus.FAILED:
        code = payment.failure.code if payment.failure else "unknown"
        return f"completed: the payment failed ({code})"
    if payment.status is PaymentStatus.SUCCEEDED:
        refunded = money(payment.amount_refunded, payment.currency)
        captured = money(payment.amount_captured, payment.currency)
        return (
            f"completed: the payment succeeded ({captured}, {refunded} refunded); "
            "its refund window is over"
        )
    return f"completed: the payment was {payment.status}"
