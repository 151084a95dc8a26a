"""Alerts for operators: raised once per cause and window, listed, resolved, counted.

The Prometheus counter ``durapay_alerts_total{kind,severity}`` is read from the alerts table at
each scrape (``refresh_alert_metrics``), because workers and API processes all raise alerts and
only the table sees every one of them; alerts are never deleted, so the count only grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.alerts import AlertRequest, RaisedAlert
from db.models import Alert
from db.repositories import alerts as alerts_repo
from services.database import Database
from services.errors import InvalidState
from services.idempotency import random_id
from services.metrics import Metrics
from services.ownership import owned


async def raise_alert(database: Database, request: AlertRequest) -> RaisedAlert:
    async with database.writing() as session:
        return await alerts_repo.raise_alert(
            session, request, alert_id=random_id("alr_"), now=datetime.now(UTC)
        )


@dataclass(frozen=True)
class AlertFilter:
    customer_id: str | None = None
    kind: str | None = None
    severity: str | None = None
    status: str | None = None
    """``open`` or ``resolved``; None for both."""


async def list_alerts(
    database: Database,
    account_id: str,
    which: AlertFilter,
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Alert], bool]:
    async with database.reading() as session:
        return await alerts_repo.page(
            session,
            account_id,
            customer_id=which.customer_id,
            kind=which.kind,
            severity=which.severity,
            resolved=None if which.status is None else which.status == "resolved",
            limit=limit,
            starting_after=starting_after,
        )


async def resolve(database: Database, account_id: str, alert_id: str, resolution: str) -> Alert:
    """An open alert becomes resolved with the operator's words; resolving twice is refused, so
    the first resolution is never overwritten."""
    async with database.writing() as session:
        alert = await owned(alerts_repo.get(session, account_id, alert_id), f"alert {alert_id}")
        if alert.resolved_at is not None:
            raise InvalidState(f"Alert {alert_id} is already resolved.")
        alert.resolved_at = datetime.now(UTC)
        alert.resolution = resolution
        await session.flush()
        return alert


async def refresh_alert_metrics(database: Database, metrics: Metrics) -> None:
    async with database.reading() as session:
        counts = await alerts_repo.counts(session)
    metrics.alerts.set_counts(counts)
