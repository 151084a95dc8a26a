"""Reads shared by the resources an account owns: one row of the account, and keyset pages
newest first, stable under equal timestamps."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiKey, Customer, Invoice, Payment, Subscription

Row = TypeVar("Row", Customer, Payment, Subscription, Invoice, ApiKey)


async def get_owned(
    session: AsyncSession, model: type[Row], row_id: str, account_id: str | None
) -> Row | None:
    """The row with this id; with ``account_id``, only if that account owns it."""
    query = select(model).where(model.id == row_id)
    if account_id is not None:
        query = query.where(model.account_id == account_id)
    result: Row | None = await session.scalar(query)
    return result


async def newest_first(
    session: AsyncSession,
    query: Select[Row],
    model: type[Row],
    *,
    account_id: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Row], bool]:
    """One page of ``query`` ordered by (created_at, id) descending, and whether more follow.

    ``starting_after`` is the last id of the previous page; an id the account does not own gives
    an empty page (``account_id=None``: any account's, for the operator's ``durapay`` command).
    The id breaks ties between equal timestamps, so no page repeats or skips a row.
    """
    if starting_after is not None:
        cursor = await get_owned(session, model, starting_after, account_id)
        if cursor is None:
            return [], False
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
