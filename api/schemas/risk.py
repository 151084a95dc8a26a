"""Risk on the wire: rules, an evaluation, a customer's limits and the review queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Amount, Currency, Request, ResourceId, Response
from api.schemas.payments import RiskOut

Score = Annotated[int, Field(ge=0, le=100)]


class ThresholdsIn(Request):
    challenge: Score = 30
    review: Score = 60
    block: Score = 80


class ConditionIn(Request):
    amount_gte: Amount | None = None
    currency: Currency | None = None
    customer_id: ResourceId | None = None
    email_domain_in: (
        Annotated[list[Annotated[str, Field(max_length=253)]], Field(max_length=100)] | None
    ) = None


class RuleIn(Request):
    action: Literal["allow", "challenge", "review", "block"]
    when: ConditionIn = Field(default_factory=ConditionIn)


class RulesIn(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "thresholds": {"challenge": 30, "review": 60, "block": 80},
                    "rules": [
                        {"action": "review", "when": {"amount_gte": 500000, "currency": "USD"}},
                        {"action": "block", "when": {"email_domain_in": ["mailinator.com"]}},
                    ],
                }
            ]
        }
    )

    thresholds: ThresholdsIn = Field(default_factory=ThresholdsIn)
    rules: Annotated[list[RuleIn], Field(max_length=100)] = Field(default_factory=list)


class ConditionOut(Response):
    amount_gte: int | None
    currency: str | None
    customer_id: str | None
    email_domain_in: list[str] | None


class RuleOut(Response):
    action: str
    when: ConditionOut


class ThresholdsOut(Response):
    challenge: int
    review: int
    block: int


class RulesOut(Response):
    thresholds: ThresholdsOut
    rules: list[RuleOut]


class EvaluateIn(Request):
    customer_id: ResourceId
    amount: Amount
    currency: Currency
    client_ip: Annotated[str, Field(max_length=45)] | None = None
    """Accepted as the contract names it; no factor reads it yet (README "Risk")."""


class PeriodOut(Response):
    limit: int
    used: int
    remaining: int


class LimitsOut(Response):
    kyc_tier: str | None
    currency: str
    single: int | None
    daily: PeriodOut | None
    monthly: PeriodOut | None


class ReviewOut(BaseModel):
    payment_id: str
    customer_id: str
    amount: int
    currency: str
    risk: RiskOut | None
    opened_at: datetime
    expires_at: datetime | None


class ReviewList(BaseModel):
    data: list[ReviewOut]


class RejectIn(Request):
    reason: Annotated[str, Field(max_length=500)] | None = None
