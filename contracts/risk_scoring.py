"""Scoring: a pure function from a payment, its customer's history and the account's rules to
the risk object.

It lives with the contracts because two layers that may not import each other apply it: the
payment's activity (``activities/risk.py``, inside the workflow) and ``POST /v1/risk/evaluate``
(``services/risk.py``), which must answer exactly what a payment would get. It reads nothing: no
clock, no database. Every factor's points grow with what it counts, so more failed attempts, more
payments or a larger amount never lower a score (``tests/unit/test_risk_scoring.py``).
"""

from contracts.risk import (
    CustomerHistory,
    FactorCode,
    RiskAssessment,
    RiskDecision,
    RiskFactor,
    RiskLevel,
    RiskRule,
    RiskRules,
    RiskThresholds,
    RuleAction,
    ScoredPayment,
)

FAILED_ATTEMPTS_FROM = 3
"""Failed payments of the customer in the last hour from which ``failed_attempts`` counts."""
VELOCITY_FROM = 5
"""Payments of the customer in the last hour from which ``velocity`` counts."""
NEW_CUSTOMER_SECONDS = 24 * 3600
AVERAGE_MULTIPLE = 3
"""``above_customer_average``: more than this many times the customer's succeeded average."""
AVERAGE_NEEDS = 3
"""Succeeded payments an average needs before it means anything."""

_ACTIONS = {
    RuleAction.ALLOW: RiskDecision.APPROVE,
    RuleAction.CHALLENGE: RiskDecision.CHALLENGE,
    RuleAction.REVIEW: RiskDecision.REVIEW,
    RuleAction.BLOCK: RiskDecision.BLOCK,
}


def level_of(score: int) -> RiskLevel:
    if score >= 80:
        return RiskLevel.HIGHEST
    if score >= 60:
        return RiskLevel.HIGH
    if score >= 30:
        return RiskLevel.ELEVATED
    return RiskLevel.LOW


def decision_of(score: int, thresholds: RiskThresholds) -> RiskDecision:
    if score >= thresholds.block:
        return RiskDecision.BLOCK
    if score >= thresholds.review:
        return RiskDecision.REVIEW
    if score >= thresholds.challenge:
        return RiskDecision.CHALLENGE
    return RiskDecision.APPROVE


def factors_of(
    payment: ScoredPayment, history: CustomerHistory, large_amount: int | None
) -> list[RiskFactor]:
    """The factors that apply, each with its points (growing with what it counts)."""
    factors: list[RiskFactor] = []
    failed = history.failed_last_hour
    if failed >= FAILED_ATTEMPTS_FROM:
        factors.append(
            RiskFactor(
                FactorCode.FAILED_ATTEMPTS.value,
                min(50, 25 + 10 * (failed - FAILED_ATTEMPTS_FROM)),
                f"{failed} failed payments in the last hour",
            )
        )
    recent = history.payments_last_hour
    if recent >= VELOCITY_FROM:
        factors.append(
            RiskFactor(
                FactorCode.VELOCITY.value,
                min(40, 20 + 5 * (recent - VELOCITY_FROM)),
                f"{recent} payments in the last hour",
            )
        )
    if large_amount is not None and payment.amount >= large_amount:
        factors.append(
            RiskFactor(
                FactorCode.LARGE_AMOUNT.value,
                30 if payment.amount < 5 * large_amount else 45,
                f"{payment.amount} {payment.currency} is at least {large_amount}",
            )
        )
    if history.customer_age_seconds < NEW_CUSTOMER_SECONDS:
        factors.append(
            RiskFactor(FactorCode.NEW_CUSTOMER.value, 10, "customer created less than 24 h ago")
        )
    if (
        history.succeeded_count >= AVERAGE_NEEDS
        and payment.amount > AVERAGE_MULTIPLE * history.succeeded_average
    ):
        factors.append(
            RiskFactor(
                FactorCode.ABOVE_CUSTOMER_AVERAGE.value,
                15,
                f"more than {AVERAGE_MULTIPLE}x the customer's average of "
                f"{history.succeeded_average}",
            )
        )
    return factors


def matches(rule: RiskRule, payment: ScoredPayment) -> bool:
    when = rule.when
    domains = {domain.lower() for domain in when.email_domain_in or ()}
    return (
        (when.amount_gte is None or payment.amount >= when.amount_gte)
        and (when.currency is None or when.currency.upper() == payment.currency)
        and (when.customer_id is None or when.customer_id == payment.customer_id)
        and (
            when.email_domain_in is None
            or (payment.email_domain is not None and payment.email_domain.lower() in domains)
        )
    )


def assess(
    payment: ScoredPayment,
    history: CustomerHistory,
    rules: RiskRules,
    large_amount: int | None,
) -> RiskAssessment:
    """Score the payment; the first matching rule, if any, decides instead of the thresholds."""
    factors = factors_of(payment, history, large_amount)
    score = min(100, sum(factor.points for factor in factors))
    decision = decision_of(score, rules.thresholds)
    for index, rule in enumerate(rules.rules):
        if matches(rule, payment):
            decision = _ACTIONS[rule.action]
            factors.append(RiskFactor(f"rule:{index}", 0, f"account rule {index}: {rule.action}"))
            break
    return RiskAssessment(score=score, level=level_of(score), decision=decision, factors=factors)
