"""Scoring is monotone in what it counts, the contract's levels and thresholds hold, the first
matching rule decides; and what a decision makes of a payment at each provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from contracts.payments import PaymentInput, PaymentTimeouts
from contracts.providers import CaptureMethod, ProviderName
from contracts.risk import (
    CustomerHistory,
    RiskAssessment,
    RiskDecision,
    RiskLevel,
    RiskRule,
    RiskRules,
    RiskThresholds,
    RuleAction,
    RuleCondition,
    ScoredPayment,
)
from contracts.risk_scoring import assess, decision_of, level_of
from workflows.policies.payment_status import initial_view
from workflows.policies.risk import alerts_for, at_provider, review_wait

LARGE = 1_000_000

histories = st.builds(
    CustomerHistory,
    failed_last_hour=st.integers(0, 50),
    payments_last_hour=st.integers(0, 50),
    customer_age_seconds=st.integers(0, 90 * 86400),
    succeeded_count=st.integers(0, 20),
    succeeded_average=st.integers(0, 2_000_000),
)
amounts = st.integers(1, 10_000_000)


def _payment(amount: int, email_domain: str | None = "example.com") -> ScoredPayment:
    return ScoredPayment(
        amount=amount, currency="USD", customer_id="cus_1", email_domain=email_domain
    )


def _score(amount: int, history: CustomerHistory) -> int:
    return assess(_payment(amount), history, RiskRules(), LARGE).score


@given(histories, amounts, st.integers(1, 20))
def test_more_failed_attempts_never_lower_the_score(
    history: CustomerHistory, amount: int, more: int
) -> None:
    worse = CustomerHistory(
        history.failed_last_hour + more,
        history.payments_last_hour,
        history.customer_age_seconds,
        history.succeeded_count,
        history.succeeded_average,
    )
    assert _score(amount, worse) >= _score(amount, history)


@given(histories, amounts, st.integers(1, 10_000_000))
def test_a_larger_amount_never_lowers_the_score(
    history: CustomerHistory, amount: int, more: int
) -> None:
    assert _score(amount + more, history) >= _score(amount, history)


@given(histories, amounts)
def test_a_score_is_within_0_and_100_and_its_level_and_decision_follow_it(
    history: CustomerHistory, amount: int
) -> None:
    risk = assess(_payment(amount), history, RiskRules(), LARGE)
    assert 0 <= risk.score <= 100
    assert risk.level is level_of(risk.score)
    assert risk.decision is decision_of(risk.score, RiskThresholds())


def test_levels_and_decisions_at_the_contract_thresholds() -> None:
    assert [level_of(s) for s in (29, 30, 59, 60, 79, 80)] == [
        RiskLevel.LOW,
        RiskLevel.ELEVATED,
        RiskLevel.ELEVATED,
        RiskLevel.HIGH,
        RiskLevel.HIGH,
        RiskLevel.HIGHEST,
    ]
    assert [decision_of(s, RiskThresholds()) for s in (29, 30, 60, 80)] == [
        RiskDecision.APPROVE,
        RiskDecision.CHALLENGE,
        RiskDecision.REVIEW,
        RiskDecision.BLOCK,
    ]


def test_the_first_matching_rule_decides_and_is_named_as_a_factor() -> None:
    calm = CustomerHistory(0, 0, 86400 * 30, 0, 0)
    rules = RiskRules(
        rules=[
            RiskRule(RuleAction.BLOCK, RuleCondition(currency="EUR")),
            RiskRule(RuleAction.REVIEW, RuleCondition(amount_gte=50_000)),
            RiskRule(RuleAction.BLOCK, RuleCondition(amount_gte=50_000)),
        ]
    )

    small = assess(_payment(100), calm, rules, LARGE)
    large = assess(_payment(60_000), calm, rules, LARGE)

    assert small.decision is RiskDecision.APPROVE
    assert large.decision is RiskDecision.REVIEW
    assert [f.code for f in large.factors] == ["rule:1"]


def test_allow_skips_the_scores_own_block() -> None:
    alarming = CustomerHistory(10, 10, 0, 0, 0)
    rules = RiskRules(rules=[RiskRule(RuleAction.ALLOW, RuleCondition(customer_id="cus_1"))])

    risk = assess(_payment(LARGE), alarming, rules, LARGE)

    assert risk.score == 100
    assert risk.decision is RiskDecision.APPROVE


def test_a_challenge_at_paypal_is_reviewed_and_at_stripe_stays_a_challenge() -> None:
    challenge = RiskAssessment(35, RiskLevel.ELEVATED, RiskDecision.CHALLENGE, [])

    assert at_provider(challenge, ProviderName.STRIPE) == challenge
    reviewed = at_provider(challenge, ProviderName.PAYPAL)
    assert reviewed.decision is RiskDecision.REVIEW
    assert [f.code for f in reviewed.factors] == ["paypal_challenge"]


def test_a_review_ends_before_an_authorization_that_would_lapse_first() -> None:
    assert review_wait(timedelta(hours=24), timedelta(days=7)) == timedelta(hours=24)
    assert review_wait(timedelta(hours=24), timedelta(hours=6)) == timedelta(hours=6)


def test_only_alarming_factors_and_blocks_raise_alerts() -> None:
    view = initial_view(
        PaymentInput(
            payment_id="pay_1",
            account_id="acct_1",
            request_hash="h",
            amount=LARGE * 5,
            currency="USD",
            customer_id="cus_1",
            provider=ProviderName.STRIPE,
            capture_method=CaptureMethod.AUTOMATIC,
            timeouts=PaymentTimeouts(3600, 86400, 86400, 10),
            created_at=datetime(2026, 12, 2, tzinfo=UTC),
        )
    )
    calm = assess(_payment(100), CustomerHistory(0, 0, 0, 0, 0), RiskRules(), LARGE)
    blocked = assess(_payment(LARGE * 5), CustomerHistory(5, 9, 0, 0, 0), RiskRules(), LARGE)

    assert alerts_for(view, calm) == []
    alerts = alerts_for(view, blocked)
    assert {(a.cause, a.payment_id) for a in alerts} == {("cus_1", "pay_1")}
    assert [a.kind.value for a in alerts] == [
        "failed_attempts",
        "velocity",
        "large_amount",
        "blocked_by_risk",
    ]
