"""Alerts and audit entries for what workflows decide: a review approved from the Temporal UI,
a reconciliation's drift, an endpoint disabled after days of failures.

Both writes are safe to retry: an alert is unique per cause and window, and an audit entry's
ID is derived from the workflow run and the activity, so a retried attempt whose first try
committed finds its entry instead of chaining a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts.alerts import AlertRequest, RaisedAlert
from contracts.audit import AuditRecord
from db.ids import derive_id, random_id
from db.repositories import alerts as alerts_repo
from db.repositories import audit as audit_repo


class OversightActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="raise_alert")
    async def raise_alert(self, request: AlertRequest) -> RaisedAlert:
        async with self._sessions() as session, session.begin():
            return await alerts_repo.raise_alert(
                session, request, alert_id=random_id("alr_"), now=datetime.now(UTC)
            )

    @activity.defn(name="record_audit")
    async def record_audit(self, record: AuditRecord) -> str:
        async with self._sessions() as session, session.begin():
            entry = await audit_repo.append(
                session, record, entry_id=_entry_id(activity.info()), at=datetime.now(UTC)
            )
            return entry.id


def _entry_id(info: activity.Info) -> str:
    """The same for every attempt of one activity of one workflow run."""
    return derive_id("aud_", info.workflow_id or "", info.workflow_run_id or "", info.activity_id)
