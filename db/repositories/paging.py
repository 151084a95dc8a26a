"""Keyset pagination shared by the list endpoints: newest first, stable under equal timestamps."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, or_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, Subscription

Row = TypeVar("Row", Subscription, Invoice)


async def newest_first(
    session: AsyncSession,
    query: Select[Row],
    model: type[Row],
    cursor: Row | None,
    limit: int,
) -> tuple[list[Row], bool]:
    """One page ordered by (created_at, id) descending, after ``cursor`` when given: the id breaks
    ties between equal timestamps, so no page repeats or skips a row."""
    if cursor is not None:
        query = query.where(
            or_(
                model.created_at < cursor.created_at,
                (model.created_at == cursor.created_at) & (model.id < cursor.id),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit
