"""Provider webhook events, stored unique by (provider, event id) before they are forwarded.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    WebhookEvent,
)
from db.repositories.writes import insert_once


async def store_webhook_event(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    type: str,
    payload: dict[str, Any],
    received_at: datetime,
) -> tuple[WebhookEvent, bool]:
    """Store a provider event once; the bool says whether this call stored it."""
    created = await insert_once(
        session,
        WebhookEvent,
        {
            "provider": provider,
            "event_id": event_id,
            "type": type,
            "payload": payload,
            "received_at": received_at,
        },
    )
    stored = await _find_webhook_event(session, provider, event_id)
    assert stored is not None
    return stored, created


async def _find_webhook_event(
    session: AsyncSession, provider: str, event_id: str
) -> WebhookEvent | None:
    result: WebhookEvent | None = await session.scalar(
        select(WebhookEvent).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
    )
    return result


async def mark_webhook_event(
    session: AsyncSession, *, provider: str, event_id: str, outcome: str, processed_at: datetime
) -> None:
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.provider == provider, WebhookEvent.event_id == event_id)
        .values(outcome=outcome, processed_at=processed_at)
    )


async def count_webhook_events(session: AsyncSession, provider: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == provider)
    )
    return int(count or 0)
