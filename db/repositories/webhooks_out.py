"""The event log, webhook endpoints and delivery attempts: every query of webhooks to merchants.

Functions flush but never commit: the caller owns the transaction. An event is written in the
transaction of the projection write that records its change (``record_event``), which is what
makes the log an outbox: no committed change without its event, no event without its change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.ids import derive_hex_id
from db.models import Event, WebhookDelivery, WebhookEndpoint
from db.repositories.paging import account_page, get_owned, page_after
from db.repositories.writes import insert_once, insert_or_update, update_rows

ENABLED = "enabled"
DISABLED = "disabled"


def json_value(value: Any) -> Any:
    """A column's value as an event's object carries it: times in RFC 3339 (UTC as ``Z``),
    enums by their value."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    return value


async def record_event(
    session: AsyncSession,
    *,
    account_id: str,
    type: str,
    resource_id: str,
    dedupe_key: str,
    resource: dict[str, Any],
    created_at: datetime,
    dispatched: bool = False,
) -> str | None:
    """Write the event once per ``dedupe_key``; its id when this call wrote it, else None.
    ``dispatched``: written as dispatched already (no endpoint to deliver it to)."""
    event_id = derive_hex_id("evt_", dedupe_key)
    written = await insert_once(
        session,
        Event,
        {
            "id": event_id,
            "account_id": account_id,
            "type": type,
            "resource_id": resource_id,
            "dedupe_key": dedupe_key,
            "data": {"object": resource},
            "created_at": created_at,
            "dispatched_at": created_at if dispatched else None,
        },
    )
    return event_id if written else None


async def get_event(session: AsyncSession, event_id: str, account_id: str | None) -> Event | None:
    return await get_owned(session, Event, event_id, account_id)


async def list_events(
    session: AsyncSession,
    *,
    account_id: str,
    type: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Event], bool]:
    return await account_page(
        session,
        Event,
        account_id=account_id,
        equal=[(Event.type, type)],
        limit=limit,
        starting_after=starting_after,
    )


async def undispatched_events(
    session: AsyncSession, *, created_before: datetime, limit: int
) -> list[Event]:
    """Events whose deliveries no one started, oldest first (a dispatcher died after commit)."""
    rows = await session.scalars(
        select(Event)
        .where(Event.dispatched_at.is_(None), Event.created_at < created_before)
        .order_by(Event.created_at)
        .limit(limit)
    )
    return list(rows)


async def mark_dispatched(session: AsyncSession, event_ids: Sequence[str], at: datetime) -> None:
    if event_ids:
        await update_rows(
            session,
            update(Event)
            .where(Event.id.in_(event_ids), Event.dispatched_at.is_(None))
            .values(dispatched_at=at),
        )


async def expire_events(session: AsyncSession, created_before: datetime) -> int:
    """Delete the events older than the retention (and their attempts); how many went."""
    old = select(Event.id).where(Event.created_at < created_before)
    await session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(old))
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        delete(Event)
        .where(Event.created_at < created_before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return "*" in endpoint.events or event_type in endpoint.events


async def has_enabled_endpoints(session: AsyncSession, account_id: str) -> bool:
    """Whether the account has an endpoint an event of now might be delivered to."""
    query = select(WebhookEndpoint.id).where(
        WebhookEndpoint.account_id == account_id,
        WebhookEndpoint.status == ENABLED,
        WebhookEndpoint.deleted_at.is_(None),
    )
    return (await session.scalar(query.limit(1))) is not None


async def endpoints_for(
    session: AsyncSession, event: Event, *, registered_since: bool = False
) -> list[WebhookEndpoint]:
    """The account's enabled endpoints that want this event and existed when it happened (with
    ``registered_since``, those registered later too: a redelivery on request)."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.account_id == event.account_id,
        WebhookEndpoint.status == ENABLED,
        WebhookEndpoint.deleted_at.is_(None),
    )
    if not registered_since:
        query = query.where(WebhookEndpoint.created_at <= event.created_at)
    rows = await session.scalars(query)
    return [endpoint for endpoint in rows if subscribed(endpoint, event.type)]


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    await session.flush()


async def get_endpoint(
    session: AsyncSession, endpoint_id: str, account_id: str | None
) -> WebhookEndpoint | None:
    """A live (not deleted) endpoint; with ``account_id``, only that account's."""
    return await get_owned(
        session, WebhookEndpoint, endpoint_id, account_id, WebhookEndpoint.deleted_at.is_(None)
    )


async def list_endpoints(
    session: AsyncSession, *, account_id: str, limit: int, starting_after: str | None
) -> tuple[list[WebhookEndpoint], bool]:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.account_id == account_id, WebhookEndpoint.deleted_at.is_(None)
    )
    cursor = (
        await get_endpoint(session, starting_after, account_id)
        if starting_after is not None
        else None
    )
    return await page_after(session, query, WebhookEndpoint, starting_after, cursor, limit=limit)


async def disable_endpoint(session: AsyncSession, endpoint_id: str, at: datetime) -> bool:
    """Disable an enabled endpoint; True only for the call that did (one alert, not two)."""
    changed = await update_rows(
        session,
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.status == ENABLED)
        .values(status=DISABLED, disabled_at=at),
    )
    return changed > 0


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: str,
    event_id: str,
    endpoint_id: str,
    attempt: int,
    status: str,
    response_code: int | None,
    error: str | None,
    at: datetime,
) -> None:
    """One row per (delivery, attempt): an attempt the activity made again (its worker died
    after posting) overwrites its own row with the latest outcome instead of adding one."""
    await insert_or_update(
        session,
        WebhookDelivery,
        {
            "id": derive_hex_id("wha_", f"{delivery_id}:{attempt}"),
            "delivery_id": delivery_id,
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "attempt": attempt,
            "status": status,
            "response_code": response_code,
            "error": error,
            "created_at": at,
        },
    )


async def list_attempts(
    session: AsyncSession, *, endpoint_id: str, limit: int, starting_after: str | None
) -> tuple[list[WebhookDelivery], bool]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    cursor: WebhookDelivery | None = None
    if starting_after is not None:
        cursor = await session.scalar(query.where(WebhookDelivery.id == starting_after).limit(1))
    return await page_after(session, query, WebhookDelivery, starting_after, cursor, limit=limit)
