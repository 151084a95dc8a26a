"""The subscription projection, versioned like the payments one.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Subscription
from db.repositories.paging import account_page, all_newest_first, get_owned
from db.repositories.writes import insert_or_update


async def save_subscription_snapshot(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert, or update only with a newer version: a late or repeated write never goes back."""
    return await insert_or_update(
        session, Subscription, values, only_if=Subscription.version < values["version"]
    )


async def get_subscription(
    session: AsyncSession, subscription_id: str, account_id: str | None = None
) -> Subscription | None:
    return await get_owned(session, Subscription, subscription_id, account_id)


async def list_subscriptions(
    session: AsyncSession,
    *,
    account_id: str,
    customer_id: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Subscription], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    return await account_page(
        session,
        Subscription,
        account_id=account_id,
        equal=[(Subscription.customer_id, customer_id)],
        limit=limit,
        starting_after=starting_after,
    )


async def subscriptions_of_customer(session: AsyncSession, customer_id: str) -> list[Subscription]:
    """Every subscription of the customer, newest first (an export: no paging)."""
    return await all_newest_first(
        session, select(Subscription).where(Subscription.customer_id == customer_id), Subscription
    )
