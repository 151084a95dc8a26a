"""Invoices on the wire, built from the invoice's row (``InvoiceOut.model_validate(row)``).

The row stores its lines as JSON with ISO 8601 period bounds; ``InvoiceLineOut`` parses them back to
timestamps so they render like every other time in the API.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from api.schemas.common import Response


class InvoiceLineOut(BaseModel):
    description: str
    amount: int
    period_start: datetime
    period_end: datetime


class InvoiceOut(Response):
    id: str
    number: str | None
    """``INV-2026-000001``, gapless per account and year; null only on an invoice opened before
    invoices were numbered."""
    subscription_id: str
    customer_id: str
    amount_due: int
    amount_paid: int
    currency: str
    status: str
    lines: list[InvoiceLineOut]
    attempt_count: int
    next_payment_attempt: datetime | None
    created_at: datetime
