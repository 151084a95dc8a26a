"""The plan catalog on the wire, built from the plan's row (``PlanOut.model_validate(row)``)."""

from __future__ import annotations

from api.schemas.common import Response


class PlanOut(Response):
    id: str
    name: str
    amount: int
    currency: str
    interval: str
    trial_days: int
