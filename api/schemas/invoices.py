"""Invoices on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class InvoiceLineOut(BaseModel):
    description: str
    amount: int
    period_start: datetime
    period_end: datetime


class InvoiceOut(BaseModel):
    id: str
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
