"""The subscription projection, versioned like the payments one.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Subscription
from db.repositories.paging import newest_first
from db.repositories.writes import insert_once


async def save_subscription_snapshot(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert, or update only with a newer version: a late or repeated write never goes back."""
    if await insert_once(session, Subscription, values):
        return True
    result = await session.execute(
        update(Subscription)
        .where(Subscription.id == values["id"], Subscription.version < values["version"])
        .values(**{k: v for k, v in values.items() if k not in ("id", "created_at")})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def get_subscription(
    session: AsyncSession, subscription_id: str, account_id: str | None = None
) -> Subscription | None:
    query = select(Subscription).where(Subscription.id == subscription_id)
    if account_id is not None:
        query = query.where(Subscription.account_id == account_id)
    result: Subscription | None = await session.scalar(query)
    return result


async def list_subscriptions(
    session: AsyncSession,
    *,
    account_id: str,
    customer_id: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Subscription], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    query = select(Subscription).where(Subscription.account_id == account_id)
    if customer_id is not None:
        query = query.where(Subscription.customer_id == customer_id)
    cursor = None
    if starting_after is not None:
        cursor = await get_subscription(session, starting_after, account_id)
        if cursor is None:
            return [], False
    return await newest_first(session, query, Subscription, cursor, limit)
