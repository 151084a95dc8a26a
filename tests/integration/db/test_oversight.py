"""The audit chain and alerts on SQLite and PostgreSQL: concurrent appends chain in turn, a
changed or removed row is named by verify, and a storm of one cause raises one alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
from contracts.audit import ActorType, AuditRecord
from db.ids import random_id
from db.models import AuditEntry, Event
from db.repositories import alerts as alerts_repo
from db.repositories import audit as audit_repo
from services.audit import mask_email

ACCOUNT = "acct_audit"


def _record(n: int, account: str = ACCOUNT) -> AuditRecord:
    return AuditRecord(
        account_id=account,
        actor_type=ActorType.API_KEY,
        actor_id="key_1",
        action="payment.create",
        resource_id=f"pay_{n}",
        outcome=201,
        details={"amount": 1000 + n, "email": mask_email("alice@example.com")},
        ip="127.0.0.1",
        request_id=f"req_{n}",
    )


async def _append(sessions: async_sessionmaker[AsyncSession], record: AuditRecord) -> str:
    async with sessions() as session, session.begin():
        entry = await audit_repo.append(
            session, record, entry_id=random_id("aud_"), at=datetime.now(UTC)
        )
        return entry.id


async def _verify(sessions: async_sessionmaker[AsyncSession]) -> audit_repo.ChainCheck:
    async with sessions() as session:
        return await audit_repo.verify(session, ACCOUNT)


async def test_concurrent_appends_form_one_unbroken_chain(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await asyncio.gather(*(_append(sessions, _record(n)) for n in range(20)))
    await _append(sessions, _record(0, account="acct_other"))

    check = await _verify(sessions)

    assert check.ok and check.checked == 20
    assert len(set(ids)) == 20


async def test_verify_names_the_changed_entry(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = [await _append(sessions, _record(n)) for n in range(5)]
    async with sessions() as session, session.begin():
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == ids[2]).values(details={"amount": 1})
        )

    check = await _verify(sessions)

    assert not check.ok and check.first_bad_id == ids[2] and check.checked == 2


async def test_verify_notices_a_removed_entry_even_the_last(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await _append(sessions, _record(n)) for n in range(4)]
    async with sessions() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == ids[3]))

    check = await _verify(sessions)

    assert not check.ok and check.first_bad_id == ids[2]


async def test_a_rolled_back_change_leaves_no_entry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _append(sessions, _record(1))
    try:
        async with sessions() as session, session.begin():
            await audit_repo.append(
                session, _record(2), entry_id=random_id("aud_"), at=datetime.now(UTC)
            )
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass

    check = await _verify(sessions)

    assert check.ok and check.checked == 1


def _alert(cause: str) -> AlertRequest:
    return AlertRequest(
        account_id=ACCOUNT,
        kind=AlertKind.FAILED_ATTEMPTS,
        severity=AlertSeverity.MEDIUM,
        cause=cause,
        detail="4 failed payments in the last hour",
        customer_id=cause,
    )


async def _raise(
    sessions: async_sessionmaker[AsyncSession], request: AlertRequest, now: datetime
) -> tuple[str, bool]:
    async with sessions() as session, session.begin():
        raised = await alerts_repo.raise_alert(
            session, request, alert_id=random_id("alr_"), now=now
        )
        return raised.id, raised.created


async def test_a_storm_of_one_cause_raises_one_alert_per_window(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 12, 2, 10, 15, tzinfo=UTC)
    storm = await asyncio.gather(*(_raise(sessions, _alert("cus_a"), now) for _ in range(10)))
    other_cause = await _raise(sessions, _alert("cus_b"), now)
    next_window = await _raise(sessions, _alert("cus_a"), now + timedelta(hours=1))

    assert len({alert_id for alert_id, _ in storm}) == 1
    assert sum(created for _, created in storm) == 1
    assert other_cause[1] and next_window[1]
    async with sessions() as session:
        rows, _ = await alerts_repo.page(
            session,
            ACCOUNT,
            customer_id=None,
            kind="failed_attempts",
            severity=None,
            resolved=False,
            limit=10,
            starting_after=None,
        )
        counts = await alerts_repo.counts(session)
    assert len(rows) == 3
    assert counts == [("failed_attempts", "medium", 3)]
    async with sessions() as session:
        created = list(await session.scalars(select(Event).where(Event.type == "alert.created")))
    assert sorted(e.resource_id for e in created) == sorted(row.id for row in rows)
