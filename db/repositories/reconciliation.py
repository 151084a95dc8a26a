"""Reconciliation runs, and the reads a run compares provider objects with.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Payment, ReconciliationRun, Refund, WebhookEvent
from db.repositories.writes import insert_once

UNMATCHED = "unmatched"
"""The outcome ``services/provider_webhooks.py`` stores for an event no payment matched."""


async def open_run(
    session: AsyncSession, run_id: str, started_at: datetime, first_lookback: timedelta
) -> ReconciliationRun:
    """Open the run once (a repeat finds it): it lists from the last finished run's watermark,
    or ``first_lookback`` before its start when no run has finished yet."""
    previous = await session.scalar(
        select(ReconciliationRun.watermark)
        .where(ReconciliationRun.watermark.is_not(None), ReconciliationRun.id != run_id)
        .order_by(ReconciliationRun.watermark.desc())
        .limit(1)
    )
    await insert_once(
        session,
        ReconciliationRun,
        {
            "id": run_id,
            "started_at": started_at,
            "finished_at": None,
            "since": previous or started_at - first_lookback,
            "watermark": None,
            "checked": 0,
            "drift": [],
        },
    )
    run = await session.get(ReconciliationRun, run_id, populate_existing=True)
    assert run is not None
    return run


async def finish_run(
    session: AsyncSession,
    run_id: str,
    *,
    finished_at: datetime,
    checked: int,
    drift: list[dict[str, Any]],
    watermark: datetime,
) -> None:
    await session.execute(
        update(ReconciliationRun)
        .where(ReconciliationRun.id == run_id)
        .values(finished_at=finished_at, checked=checked, drift=drift, watermark=watermark)
    )


async def get_run(session: AsyncSession, run_id: str) -> ReconciliationRun | None:
    return await session.get(ReconciliationRun, run_id)


async def list_runs(session: AsyncSession, limit: int) -> Sequence[ReconciliationRun]:
    """The most recent runs first."""
    result = await session.scalars(
        select(ReconciliationRun).order_by(ReconciliationRun.started_at.desc()).limit(limit)
    )
    return result.all()


async def payments_by_reference(
    session: AsyncSession, provider: str, references: Collection[str]
) -> dict[str, Payment]:
    """The payments recording one of ``references`` as their provider object, by reference."""
    if not references:
        return {}
    result = await session.scalars(
        select(Payment).where(
            Payment.provider == provider, Payment.provider_reference.in_(list(references))
        )
    )
    return {payment.provider_reference or "": payment for payment in result}


async def payments_by_id(session: AsyncSession, payment_ids: Collection[str]) -> dict[str, Payment]:
    if not payment_ids:
        return {}
    result = await session.scalars(select(Payment).where(Payment.id.in_(list(payment_ids))))
    return {payment.id: payment for payment in result}


async def recorded_refunds(
    session: AsyncSession, refund_ids: Collection[str], references: Collection[str]
) -> set[str]:
    """Which of ``refund_ids`` and provider ``references`` Durapay records as a refund."""
    if not refund_ids and not references:
        return set()
    rows = await session.execute(
        select(Refund.id, Refund.provider_reference).where(
            Refund.id.in_(list(refund_ids)) | Refund.provider_reference.in_(list(references))
        )
    )
    return {value for row in rows for value in row if value is not None}


async def refund_owner(session: AsyncSession, refund_id: str) -> str | None:
    """The payment that owns refund ``refund_id`` (a provider tags a refund with its id)."""
    result: str | None = await session.scalar(
        select(Refund.payment_id).where(Refund.id == refund_id)
    )
    return result


async def unmatched_events(session: AsyncSession, limit: int) -> Sequence[WebhookEvent]:
    """Stored provider webhooks that matched no payment when they arrived, oldest first."""
    result = await session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.outcome == UNMATCHED)
        .order_by(WebhookEvent.received_at)
        .limit(limit)
    )
    return result.all()


async def mark_event(
    session: AsyncSession, provider: str, event_id: str, outcome: str, processed_at: datetime
) -> None:
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.provider == provider, WebhookEvent.event_id == event_id)
        .values(outcome=outcome, processed_at=processed_at)
    )
