"""Subscriptions and their changes on the wire.

``SubscriptionOut`` is built from the subscription's row or from its workflow's view
(``model_validate``): their public fields have the same names, internal ones are dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    AliasPath,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from api.schemas.common import Request, ResourceId, Response


class SubscriptionCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_id": "cus_8f3a2b1c9d0e4f56", "plan_id": "pro_monthly"},
                {
                    "customer_id": "cus_8f3a2b1c9d0e4f56",
                    "plan_id": "team_yearly",
                    "payment_method_id": "pm_1a2b3c4d5e6f7a8b",
                    "trial_days": 0,
                },
            ]
        }
    )
    """The plan's own trial on the default method, then a first year charged at once."""

    customer_id: ResourceId
    plan_id: ResourceId
    payment_method_id: ResourceId | None = None
    trial_days: Annotated[StrictInt, Field(ge=0, le=730)] | None = None
    """Omitted: the plan's own trial; ``0``: no trial, the first period is charged at once."""


class PlanChangeCreate(Request):
    plan_id: ResourceId
    proration: Literal["prorate", "none"] = "prorate"


class SubscriptionCancel(Request):
    at_period_end: bool = False
    prorate_refund: bool = False
    """Cancel now and refund the unused part of the current period (not with ``at_period_end``)."""

    @model_validator(mode="after")
    def _refund_only_when_ending_now(self) -> SubscriptionCancel:
        if self.at_period_end and self.prorate_refund:
            raise ValueError("prorate_refund applies to a cancel now, not at_period_end")
        return self


class SubscriptionPaymentMethod(Request):
    payment_method_id: ResourceId


class SubscriptionOut(Response):
    id: str
    status: str
    plan_id: str
    scheduled_plan_id: str | None = Field(
        validation_alias=AliasChoices(
            "scheduled_plan_id", AliasPath("scheduled_plan", "id"), "scheduled_plan"
        )
    )
    """The plan the next period switches to, after a change with ``proration: none``. The row
    stores its id; the view carries its terms (``scheduled_plan.id``), or ``None``."""
    customer_id: str
    payment_method_id: str | None
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    entitled: bool
    latest_invoice_id: str | None
    past_due_since: datetime | None
    created_at: datetime
