"""Risk: a payment's score and decision, an account's rules, a customer's limits and reviews.

Frozen dataclasses that cross the workflow boundary (the risk terms a payment starts with, the
assessment its activity answers, the review decisions sent as updates) and the API's vocabulary.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RiskLevel(StrEnum):
    """``low`` < 30 ≤ ``elevated`` < 60 ≤ ``high`` < 80 ≤ ``highest`` (fixed by the contract)."""

    LOW = "low"
    ELEVATED = "elevated"
    HIGH = "high"
    HIGHEST = "highest"


class RiskDecision(StrEnum):
    APPROVE = "approve"
    CHALLENGE = "challenge"
    """3-D Secure is requested from the provider (a PayPal payment is reviewed instead)."""
    REVIEW = "review"
    """Authorize only; an operator approves or rejects before anything is captured."""
    BLOCK = "block"
    """Nothing is sent to the provider: the payment fails with ``blocked_by_risk``."""


class RuleAction(StrEnum):
    ALLOW = "allow"
    """Skip the score's decision (never the limits)."""
    CHALLENGE = "challenge"
    REVIEW = "review"
    BLOCK = "block"


class FactorCode(StrEnum):
    FAILED_ATTEMPTS = "failed_attempts"
    VELOCITY = "velocity"
    LARGE_AMOUNT = "large_amount"
    NEW_CUSTOMER = "new_customer"
    ABOVE_CUSTOMER_AVERAGE = "above_customer_average"


@dataclass(frozen=True)
class RiskFactor:
    code: str
    """A ``FactorCode`` value, or ``rule:<index>`` for the account rule that decided."""
    points: int
    detail: str
    """Counts and amounts only, never personal data."""


@dataclass(frozen=True)
class RiskAssessment:
    """The ``risk`` object of a payment (api-contract.md, "Risk, reviews and alerts")."""

    score: int
    level: RiskLevel
    decision: RiskDecision
    factors: list[RiskFactor] = field(default_factory=list)


@dataclass(frozen=True)
class RiskThresholds:
    challenge: int = 30
    review: int = 60
    block: int = 80


@dataclass(frozen=True)
class RuleCondition:
    """Every condition given must hold; none given matches every payment."""

    amount_gte: int | None = None
    currency: str | None = None
    customer_id: str | None = None
    email_domain_in: list[str] | None = None


@dataclass(frozen=True)
class RiskRule:
    action: RuleAction
    when: RuleCondition = field(default_factory=RuleCondition)


@dataclass(frozen=True)
class RiskRules:
    """An account's rules in force: the first matching rule decides, then the thresholds."""

    thresholds: RiskThresholds = field(default_factory=RiskThresholds)
    rules: list[RiskRule] = field(default_factory=list)


@dataclass(frozen=True)
class PeriodLimits:
    """A customer's KYC-tier limits for one currency, in its minor units."""

    currency: str
    daily: int
    monthly: int


@dataclass(frozen=True)
class RiskTerms:
    """What a payment is scored and limited by, fixed when it starts (a later change of the
    rules or settings applies to payments started afterwards)."""

    rules: RiskRules
    large_amount: int | None
    """``large_amount`` from this many minor units of the payment's currency (none: unscored)."""
    limits: PeriodLimits | None
    """The customer's day and month limits; none without a KYC tier or for another currency."""
    review_timeout_seconds: int


@dataclass(frozen=True)
class CustomerHistory:
    """What scoring reads of a customer, counted at the payment's start (IDs stay in the
    activity: the email domain is compared there, never carried in a workflow payload)."""

    failed_last_hour: int
    payments_last_hour: int
    customer_age_seconds: int
    succeeded_count: int
    succeeded_average: int
    """Average succeeded amount in the payment's currency (0 without any)."""


@dataclass(frozen=True)
class ScoredPayment:
    """The payment as scoring sees it."""

    amount: int
    currency: str
    customer_id: str
    email_domain: str | None


@dataclass(frozen=True)
class AssessRequest:
    """Score a payment and, unless blocked, reserve its amount against the customer's limits."""

    payment_id: str
    account_id: str
    customer_id: str
    amount: int
    currency: str
    started_at: datetime
    """The payment's creation: its UTC day and month are the limit periods it counts in."""
    terms: RiskTerms


@dataclass(frozen=True)
class AssessResult:
    risk: RiskAssessment
    limit_exceeded: bool = False
    """The reservation was refused: the payment would pass the customer's day or month limit."""


@dataclass(frozen=True)
class ReviewDecision:
    """Sent as ``approve_review`` / ``reject_review``: by the API (``actor_type`` ``api_key``,
    the key's id, never a reason: the API audits that itself, out of Temporal's payloads) or from
    the Temporal UI, where the defaults name an operator, who may add a ``reason``."""

    actor_type: str = "operator"
    actor_id: str | None = None
    reason: str | None = None
