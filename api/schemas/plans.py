"""The plan catalog on the wire."""

from __future__ import annotations

from pydantic import BaseModel


class PlanOut(BaseModel):
    id: str
    name: str
    amount: int
    currency: str
    interval: str
    trial_days: int
