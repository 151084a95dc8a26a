"""Risk's other queries on SQLite and PostgreSQL: an account's rules replaced in place, and the
review queue (the account's payments under review with the moment each review lapses)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import PaymentEvent
from db.repositories import risk as risk_repo
from tests.integration.db.test_risk_limits import NOW, _payment


async def test_rules_are_replaced_in_place(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = {"thresholds": {"challenge": 30, "review": 60, "block": 80}, "rules": []}
    second = {
        "thresholds": {"challenge": 20, "review": 50, "block": 90},
        "rules": [{"action": "review", "when": {"amount_gte": 1000}}],
    }
    async with sessions() as session, session.begin():
        await risk_repo.put_rules(session, "acct_a", first, NOW)
    async with sessions() as session, session.begin():
        await risk_repo.put_rules(session, "acct_a", second, NOW + timedelta(minutes=1))

    async with sessions() as session:
        stored = await risk_repo.get_rules(session, "acct_a")
        other = await risk_repo.get_rules(session, "acct_b")

    assert stored is not None
    assert (stored.thresholds, stored.rules) == (second["thresholds"], second["rules"])
    assert other is None


async def test_the_review_queue_holds_the_accounts_payments_under_review(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    expires = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with sessions() as session, session.begin():
        session.add(_payment("pay_review", "under_review", NOW))
        session.add(_payment("pay_done", "succeeded", NOW))
        elsewhere = _payment("pay_other", "under_review", NOW)
        elsewhere.account_id = "acct_other"
        session.add(elsewhere)
        session.add(
            PaymentEvent(
                payment_id="pay_review",
                seq=3,
                type=risk_repo.REVIEW_OPENED,
                data={"status": "under_review", "expires_at": expires},
                created_at=NOW,
            )
        )

    async with sessions() as session:
        queue = await risk_repo.open_reviews(session, "acct_risk")

    assert [(p.id, e.data["expires_at"] if e else None) for p, e in queue] == [
        ("pay_review", expires)
    ]
    assert queue[0][1] is not None and queue[0][1].created_at == NOW
