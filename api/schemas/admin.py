"""Operator figures on the wire, read from the services' results (``model_validate``)."""

from __future__ import annotations

from pydantic import BaseModel

from api.schemas.common import Response


class PaymentTotals(Response):
    status: str
    currency: str
    count: int
    amount: int
    amount_captured: int
    amount_refunded: int


class Stats(BaseModel):
    payments: list[PaymentTotals]


class Dunning(BaseModel):
    open_cases: int
    at_risk: dict[str, int]
    recovered_cases: int
    recovered: dict[str, int]
    lost_cases: int
    recovery_rate: str | None
