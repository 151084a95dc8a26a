"""The workflows' alert and audit activities: a retried audit write records the decision once,
and an alert raised twice in its window is one alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.oversight import OversightActivities
from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
from contracts.audit import ActorType, AuditRecord
from db.migrate import upgrade_to_head
from db.repositories import audit as audit_repo
from db.session import create_engine, create_session_factory


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_a_retried_audit_activity_records_the_decision_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    record = AuditRecord(
        account_id="acct_ops",
        actor_type=ActorType.OPERATOR,
        actor_id=None,
        action="review.approve",
        resource_id="pay_1",
        outcome=200,
    )
    environment = ActivityEnvironment()
    activities = OversightActivities(sessions)

    first = await environment.run(activities.record_audit, record)
    retried = await environment.run(activities.record_audit, record)

    assert first == retried
    async with sessions() as session:
        check = await audit_repo.verify(session, "acct_ops")
    assert check.ok and check.checked == 1


async def test_an_alert_raised_twice_in_its_window_is_one_alert(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    request = AlertRequest(
        account_id="acct_ops",
        kind=AlertKind.RECONCILIATION_DRIFT,
        severity=AlertSeverity.HIGH,
        cause="ch_outside",
        detail="charge ch_outside at stripe has no payment",
    )
    environment = ActivityEnvironment()
    activities = OversightActivities(sessions)

    first = await environment.run(activities.raise_alert, request)
    second = await environment.run(activities.raise_alert, request)

    assert first.created and not second.created and first.id == second.id
