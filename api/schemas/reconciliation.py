"""Reconciliation runs and operator retries on the wire (``model_validate`` from the services')."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from api.schemas.common import Response


class DriftOut(Response):
    """One difference between a provider and Durapay, and what the run did about it."""

    kind: str
    action: str
    provider: str
    reference: str
    amount: int
    currency: str
    payment_id: str | None
    account_id: str | None
    provider_status: str
    recorded_status: str


class ReconciliationRunOut(Response):
    id: str
    started_at: datetime
    finished_at: datetime | None
    checked: int
    drift: list[DriftOut]


class ReconciliationRunList(BaseModel):
    data: list[ReconciliationRunOut]


class InvoiceRetryOut(Response):
    """``joined``: a charge was in flight and this retry waited for it instead of charging."""

    invoice_id: str
    outcome: str
    attempts: int
    payment_id: str | None
    joined: bool
