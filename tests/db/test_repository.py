"""Repository behaviour that callers rely on, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import repository
from db.migrate import upgrade_to_head
from db.models import Customer, PaymentMethod

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def payment_values(payment_id: str, version: int, status: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": payment_id,
        "account_id": "acct_1",
        "customer_id": "cus_1",
        "payment_method_id": None,
        "provider": "stripe",
        "provider_reference": None,
        "status": status,
        "amount": 99_999_999_999,
        "currency": "USD",
        "amount_capturable": 0,
        "amount_captured": 0,
        "amount_refunded": 0,
        "capture_method": "automatic",
        "next_action": None,
        "failure": None,
        "risk": None,
        "description": None,
        "metadata_": {"order": "1"},
        "request_hash": "h",
        "version": version,
        "created_at": T0,
        "updated_at": T0 + timedelta(seconds=version),
    }
    values.update(changes)
    return values


async def save(sessions: Sessions, values: dict[str, Any]) -> bool:
    async with sessions() as session:
        written = await repository.save_payment_snapshot(session, values)
        await session.commit()
        return written


async def test_payment_snapshot_never_goes_backwards(sessions: Sessions) -> None:
    assert await save(sessions, payment_values("pay_1", 1, "processing"))
    assert await save(sessions, payment_values("pay_1", 3, "succeeded", amount_captured=5))
    assert not await save(sessions, payment_values("pay_1", 2, "requires_action"))
    assert not await save(sessions, payment_values("pay_1", 3, "failed"))

    async with sessions() as session:
        stored = await repository.get_payment(session, "pay_1")
    assert stored is not None
    assert (stored.status, stored.version, stored.amount_captured) == ("succeeded", 3, 5)
    assert stored.amount == 99_999_999_999
    assert stored.updated_at == T0 + timedelta(seconds=3)
    assert stored.updated_at.tzinfo is not None
    assert stored.metadata_ == {"order": "1"}


async def test_racing_first_writes_store_one_row(sessions: Sessions) -> None:
    results = await asyncio.gather(
        *(save(sessions, payment_values("pay_race", 1, "processing")) for _ in range(5))
    )
    assert results.count(True) >= 1
    async with sessions() as session:
        rows, _ = await repository.list_payments(session, account_id="acct_1", limit=10)
    assert [row.id for row in rows] == ["pay_race"]


async def test_payment_events_are_appended_once(sessions: Sessions) -> None:
    async with sessions() as session:
        first = await repository.append_payment_event(
            session, payment_id="pay_1", seq=1, type="payment.created", data={}, created_at=T0
        )
        again = await repository.append_payment_event(
            session, payment_id="pay_1", seq=1, type="payment.created", data={}, created_at=T0
        )
        await repository.append_payment_event(
            session,
            payment_id="pay_1",
            seq=2,
            type="provider.confirmed",
            data={"s": 1},
            created_at=T0,
        )
        await session.commit()
        events = await repository.list_payment_events(session, "pay_1")
    assert (first, again) == (True, False)
    assert [(e.seq, e.type) for e in events] == [(1, "payment.created"), (2, "provider.confirmed")]


async def test_webhook_event_is_stored_once_even_when_racing(sessions: Sessions) -> None:
    async def store() -> bool:
        async with sessions() as session:
            _, created = await repository.store_webhook_event(
                session,
                provider="stripe",
                event_id="evt_1",
                type="payment_intent.succeeded",
                payload={"id": "evt_1"},
                received_at=T0,
            )
            await session.commit()
            return created

    results = await asyncio.gather(*(store() for _ in range(5)))

    assert results.count(True) == 1
    async with sessions() as session:
        assert await repository.count_webhook_events(session, "stripe") == 1
        await repository.mark_webhook_event(
            session, provider="stripe", event_id="evt_1", outcome="signaled", processed_at=T0
        )
        await session.commit()
        stored, created = await repository.store_webhook_event(
            session, provider="stripe", event_id="evt_1", type="x", payload={}, received_at=T0
        )
    assert (created, stored.outcome, stored.processed_at) == (False, "signaled", T0)


async def test_listing_pages_newest_first(sessions: Sessions) -> None:
    for index in range(5):
        await save(
            sessions,
            payment_values(
                f"pay_{index}",
                1,
                "succeeded" if index % 2 else "failed",
                created_at=T0 + timedelta(minutes=index),
            ),
        )
    async with sessions() as session:
        page1, more1 = await repository.list_payments(session, account_id="acct_1", limit=2)
        page2, more2 = await repository.list_payments(
            session, account_id="acct_1", limit=2, starting_after=page1[-1].id
        )
        page3, more3 = await repository.list_payments(
            session, account_id="acct_1", limit=2, starting_after=page2[-1].id
        )
        failed, _ = await repository.list_payments(
            session, account_id="acct_1", status="failed", limit=10
        )
        other, _ = await repository.list_payments(session, account_id="acct_2", limit=10)
    assert [p.id for p in page1 + page2 + page3] == ["pay_4", "pay_3", "pay_2", "pay_1", "pay_0"]
    assert (more1, more2, more3) == (True, True, False)
    assert [p.id for p in failed] == ["pay_4", "pay_2", "pay_0"]
    assert other == []


async def test_default_payment_method_rules(sessions: Sessions) -> None:
    async with sessions() as session:
        await repository.add_customer(
            session,
            Customer(
                id="cus_1",
                account_id="acct_1",
                email="a@example.com",
                name=None,
                metadata_={},
                created_at=T0,
            ),
        )
        for index in range(3):
            await repository.save_payment_method(
                session,
                PaymentMethod(
                    id=f"pm_{index}",
                    customer_id="cus_1",
                    provider="stripe",
                    provider_token=f"tok_{index}",
                    type="card",
                    brand="visa",
                    last4="4242",
                    exp_month=12,
                    exp_year=2034,
                    is_default=False,
                    created_at=T0 + timedelta(minutes=index),
                ),
            )
        await session.commit()
        first = await repository.get_payment_method(session, "pm_0")
        assert first is not None and first.is_default
        await repository.set_default_payment_method(session, "cus_1", "pm_1")
        await repository.soft_delete_payment_method(session, "cus_1", "pm_1")
        await session.commit()
        live = await repository.list_payment_methods(session, "cus_1")
    assert [m.id for m in live] == ["pm_2", "pm_0"]
    assert [m.id for m in live if m.is_default] == ["pm_2"]


async def test_customers_are_scoped_to_their_account(sessions: Sessions) -> None:
    async with sessions() as session:
        created = await repository.add_customer(
            session,
            Customer(
                id="cus_9",
                account_id="acct_1",
                email="b@example.com",
                name="B",
                metadata_={},
                created_at=T0,
            ),
        )
        repeated = await repository.add_customer(
            session,
            Customer(
                id="cus_9",
                account_id="acct_1",
                email="c@example.com",
                name="C",
                metadata_={},
                created_at=T0,
            ),
        )
        await session.commit()
        mine = await repository.get_customer(session, "cus_9", "acct_1")
        theirs = await repository.get_customer(session, "cus_9", "acct_2")
    assert (created, repeated) == (True, False)
    assert mine is not None and mine.email == "b@example.com"
    assert theirs is None


async def test_migrating_twice_changes_nothing(database_url: str, sessions: Sessions) -> None:
    await save(sessions, payment_values("pay_keep", 1, "processing"))
    await upgrade_to_head(database_url)
    async with sessions() as session:
        assert await repository.get_payment(session, "pay_keep") is not None
