"""What a payment's risk assessment makes of it: the decision at its provider, the failures risk
gives it, how long a review may last, and the alerts it raises."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
from contracts.payments import Failure, PaymentView
from contracts.providers import ProviderName
from contracts.risk import FactorCode, RiskAssessment, RiskDecision, RiskFactor

PAYPAL_CHALLENGE = "paypal_challenge"
"""The factor saying a challenge became a review: PayPal's API takes no 3-D Secure request."""

_FACTOR_ALERTS = {
    FactorCode.FAILED_ATTEMPTS.value: (AlertKind.FAILED_ATTEMPTS, AlertSeverity.MEDIUM),
    FactorCode.VELOCITY.value: (AlertKind.VELOCITY, AlertSeverity.MEDIUM),
    FactorCode.LARGE_AMOUNT.value: (AlertKind.LARGE_AMOUNT, AlertSeverity.LOW),
}


def at_provider(risk: RiskAssessment, provider: ProviderName | None) -> RiskAssessment:
    """A challenge at PayPal becomes a review: PayPal authenticates its buyers itself and has no
    3-D Secure to ask for, so an operator looks at the payment instead."""
    if risk.decision is not RiskDecision.CHALLENGE or provider is not ProviderName.PAYPAL:
        return risk
    factor = RiskFactor(PAYPAL_CHALLENGE, 0, "PayPal takes no 3-D Secure request: reviewed")
    return replace(risk, decision=RiskDecision.REVIEW, factors=[*risk.factors, factor])


def review_wait(review_timeout: timedelta, authorization_expiry: timedelta) -> timedelta:
    """How long an operator has: the review timeout, or less when the authorization would lapse
    first (the review then expires, and the authorization is voided, while it still holds)."""
    return min(review_timeout, authorization_expiry)


BLOCKED = Failure(
    code="blocked_by_risk",
    message="The payment was blocked by risk rules; nothing was charged.",
    retryable=False,
)
LIMIT_EXCEEDED = Failure(
    code="limit_exceeded",
    message="The payment would take the customer past a daily or monthly limit.",
    retryable=False,
)
REVIEW_REJECTED = Failure(
    code="review_rejected",
    message="An operator rejected the payment; its authorization was voided.",
    retryable=False,
)
REVIEW_EXPIRED = Failure(
    code="review_expired",
    message="Nobody reviewed the payment in time; its authorization was voided.",
    retryable=False,
)


def alerts_for(payment: PaymentView, risk: RiskAssessment) -> list[AlertRequest]:
    """One alert per alarming factor, and one for a block; by customer, so a storm of payments
    of the same customer in one window is one alert of each kind."""
    raised = [
        (kind, severity, factor.detail)
        for factor in risk.factors
        if factor.code in _FACTOR_ALERTS
        for kind, severity in [_FACTOR_ALERTS[factor.code]]
    ]
    if risk.decision is RiskDecision.BLOCK:
        raised.append(
            (
                AlertKind.BLOCKED_BY_RISK,
                AlertSeverity.HIGH,
                f"payment blocked at score {risk.score}",
            )
        )
    return [
        AlertRequest(
            account_id=payment.account_id,
            kind=kind,
            severity=severity,
            cause=payment.customer_id,
            detail=f"{payment.id} of {payment.customer_id}: {detail}",
            customer_id=payment.customer_id,
            payment_id=payment.id,
        )
        for kind, severity, detail in raised
    ]
