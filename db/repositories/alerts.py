"""Alerts: raised once per account, kind, cause and time window; listed and resolved.

A new alert writes its ``alert.created`` merchant event in the same transaction; the webhook
sweep (a Temporal Schedule, every minute) starts its deliveries, since an alert is raised from
the API and from activities alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.alerts import AlertRequest, RaisedAlert
from contracts.webhooks_out import EventType
from db.models import Alert
from db.repositories import webhooks_out as webhooks_repo
from db.repositories.paging import newest_first
from db.repositories.writes import insert_once

ALERT_INTERNAL = frozenset({"account_id", "cause", "window_start"})
"""The columns an ``alert.created`` event's object leaves out, as the API's answer does."""


def window_start(now: datetime, window_seconds: int) -> datetime:
    """The start of the fixed UTC window ``now`` falls in."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % window_seconds, UTC)


async def raise_alert(
    session: AsyncSession, request: AlertRequest, *, alert_id: str, now: datetime
) -> RaisedAlert:
    """Insert the window's alert for this cause unless it exists (a racing raiser's included)."""
    start = window_start(now, request.window_seconds)
    values = {
        "id": alert_id,
        "account_id": request.account_id,
        "kind": request.kind.value,
        "severity": request.severity.value,
        "cause": request.cause,
        "window_start": start,
        "customer_id": request.customer_id,
        "payment_id": request.payment_id,
        "detail": request.detail,
        "created_at": now,
        "resolved_at": None,
        "resolution": None,
    }
    if await insert_once(session, Alert, values):
        await webhooks_repo.record_event(
            session,
            account_id=request.account_id,
            type=EventType.ALERT_CREATED,
            resource_id=alert_id,
            dedupe_key=f"{alert_id}:{EventType.ALERT_CREATED}",
            resource={
                name: webhooks_repo.json_value(value)
                for name, value in values.items()
                if name not in ALERT_INTERNAL
            },
            created_at=now,
        )
        return RaisedAlert(id=alert_id, created=True)
    existing = await session.scalar(
        select(Alert.id).where(
            Alert.account_id == request.account_id,
            Alert.kind == request.kind.value,
            Alert.cause == request.cause,
            Alert.window_start == start,
        )
    )
    assert existing is not None, "insert_once found a conflicting row that is not there"
    return RaisedAlert(id=existing, created=False)


async def page(
    session: AsyncSession,
    account_id: str,
    *,
    customer_id: str | None,
    kind: str | None,
    severity: str | None,
    resolved: bool | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Alert], bool]:
    query = select(Alert).where(Alert.account_id == account_id)
    for column, value in (
        (Alert.customer_id, customer_id),
        (Alert.kind, kind),
        (Alert.severity, severity),
    ):
        if value is not None:
            query = query.where(column == value)
    if resolved is not None:
        query = query.where(
            Alert.resolved_at.is_not(None) if resolved else Alert.resolved_at.is_(None)
        )
    return await newest_first(
        session, query, Alert, account_id=account_id, limit=limit, starting_after=starting_after
    )


async def get(session: AsyncSession, account_id: str, alert_id: str) -> Alert | None:
    alert: Alert | None = await session.scalar(
        select(Alert).where(Alert.id == alert_id, Alert.account_id == account_id)
    )
    return alert


async def counts(session: AsyncSession) -> Sequence[tuple[str, str, int]]:
    """Alerts ever raised, by kind and severity, every account's: the Prometheus counter."""
    rows = await session.execute(
        select(Alert.kind, Alert.severity, func.count()).group_by(Alert.kind, Alert.severity)
    )
    return [(kind, severity, int(count)) for kind, severity, count in rows.all()]
