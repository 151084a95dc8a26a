"""Limits hold under concurrency on SQLite and PostgreSQL: 50 payments of one customer reserved
at once never together pass the day's limit; a failed payment gives its amount back, a repeated
reservation finds its own; scoring reads the customer's recent history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.risk import RiskActivities
from contracts.risk import (
    AssessRequest,
    PeriodLimits,
    RiskDecision,
    RiskRule,
    RiskRules,
    RiskTerms,
    RuleAction,
    RuleCondition,
)
from db.models import Customer, Payment
from db.repositories import risk as risk_repo

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DAILY = 200_000
LIMITS = PeriodLimits("USD", daily=DAILY, monthly=1_000_000)


async def _customer(
    sessions: async_sessionmaker[AsyncSession], created_at: datetime = NOW - timedelta(days=30)
) -> str:
    async with sessions() as session, session.begin():
        session.add(
            Customer(
                id="cus_limits",
                account_id="acct_risk",
                email="ada@mailinator.com",
                name=None,
                metadata_={},
                kyc_tier="basic",
                created_at=created_at,
            )
        )
    return "cus_limits"


def _request(payment_id: str, amount: int, rules: RiskRules | None = None) -> AssessRequest:
    return AssessRequest(
        payment_id=payment_id,
        account_id="acct_risk",
        customer_id="cus_limits",
        amount=amount,
        currency="USD",
        started_at=NOW,
        terms=RiskTerms(
            rules=rules or RiskRules(),
            large_amount=1_000_000,
            limits=LIMITS,
            review_timeout_seconds=86400,
        ),
    )


async def test_fifty_concurrent_payments_never_together_pass_the_daily_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _customer(sessions)
    activities = RiskActivities(sessions)
    environment = ActivityEnvironment()

    results = await asyncio.gather(
        *(
            environment.run(activities.assess_payment, _request(f"pay_{n:02d}", 15_000))
            for n in range(50)
        )
    )

    accepted = [r for r in results if not r.limit_exceeded]
    assert len(accepted) == DAILY // 15_000  # 13 of 150.00 make 1,950.00; a 14th would pass 2,000
    async with sessions() as session:
        held = await risk_repo.usage(session, "cus_limits", "USD", NOW)
    assert held.daily == len(accepted) * 15_000


async def test_a_released_reservation_makes_room_and_a_repeat_finds_its_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _customer(sessions)
    activities = RiskActivities(sessions)
    environment = ActivityEnvironment()
    first = await environment.run(activities.assess_payment, _request("pay_a", 150_000))
    refused = await environment.run(activities.assess_payment, _request("pay_b", 100_000))
    repeated = await environment.run(activities.assess_payment, _request("pay_a", 150_000))

    released = await environment.run(activities.release_limit, "pay_a")
    again = await environment.run(activities.assess_payment, _request("pay_b", 100_000))

    assert (first.limit_exceeded, refused.limit_exceeded, repeated.limit_exceeded) == (
        False,
        True,
        False,
    )
    assert released is True
    assert again.limit_exceeded is False
    async with sessions() as session:
        held = await risk_repo.usage(session, "cus_limits", "USD", NOW)
    assert (held.daily, held.monthly) == (100_000, 100_000)


async def test_recent_failures_and_a_matching_rule_score_the_payment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _customer(sessions, created_at=NOW - timedelta(hours=2))
    async with sessions() as session, session.begin():
        for n in range(3):
            session.add(_payment(f"pay_failed_{n}", "failed", NOW - timedelta(minutes=10 + n)))
        session.add(_payment("pay_old", "failed", NOW - timedelta(hours=3)))
    rules = RiskRules(
        rules=[RiskRule(RuleAction.REVIEW, RuleCondition(email_domain_in=["Mailinator.com"]))]
    )

    result = await ActivityEnvironment().run(
        RiskActivities(sessions).assess_payment, _request("pay_new", 5_000, rules)
    )

    codes = {factor.code: factor.points for factor in result.risk.factors}
    assert codes == {"failed_attempts": 25, "new_customer": 10, "rule:0": 0}
    assert (result.risk.score, result.risk.decision) == (35, RiskDecision.REVIEW)


def _payment(payment_id: str, status: str, created_at: datetime) -> Payment:
    return Payment(
        id=payment_id,
        account_id="acct_risk",
        customer_id="cus_limits",
        payment_method_id=None,
        provider="stripe",
        provider_reference=None,
        status=status,
        amount=5_000,
        currency="USD",
        amount_capturable=0,
        amount_captured=0,
        amount_refunded=0,
        capture_method="automatic",
        next_action=None,
        failure=None,
        risk=None,
        description=None,
        metadata_={},
        request_hash="h",
        routing_rule=None,
        version=1,
        created_at=created_at,
        updated_at=created_at,
    )
