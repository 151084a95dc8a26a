"""The plan catalog on the wire, built from the plan's row (``PlanOut.model_validate(row)``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    amount: int
    currency: str
    interval: str
    trial_days: int
