"""Reads shared by the resources an account owns: one row of the account, keyset pages newest
first (stable under equal timestamps), optionally filtered by equal columns, and whole lists in
the same order (exports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


class Dated(Protocol):
    """A model whose rows are ordered by (created_at, id): every model with these columns fits,
    so a new resource pages like the others without being listed here."""

    id: ClassVar[InstrumentedAttribute[Any]]
    created_at: ClassVar[InstrumentedAttribute[datetime]]


class Owned(Dated, Protocol):
    """A model whose rows belong to an account."""

    account_id: ClassVar[InstrumentedAttribute[str]]


Row = TypeVar("Row", bound=Owned)
Listed = TypeVar("Listed", bound=Dated)


async def get_owned(
    session: AsyncSession,
    model: type[Row],
    row_id: str,
    account_id: str | None,
    *conditions: ColumnElement[bool],
) -> Row | None:
    """The row with this id that meets ``conditions``; with ``account_id``, only if that
    account owns it."""
    query = select(model).where(model.id == row_id, *conditions)
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
    """
    cursor = None
    if starting_after is not None:
        cursor = await get_owned(session, model, starting_after, account_id)
    return await page_after(session, query, model, starting_after, cursor, limit=limit)


async def page_after(
    session: AsyncSession,
    query: Select[Listed],
    model: type[Listed],
    starting_after: str | None,
    cursor: Listed | None,
    *,
    limit: int,
) -> tuple[list[Listed], bool]:
    """The page of ``query`` after ``cursor``, the row ``starting_after`` names as the caller
    found it (None when it is not the caller's: an empty page). The id breaks ties between
    equal timestamps, so no page repeats or skips a row."""
    if starting_after is not None:
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


async def account_page(
    session: AsyncSession,
    model: type[Row],
    *,
    account_id: str,
    equal: Sequence[tuple[Any, object | None]] = (),
    limit: int,
    starting_after: str | None,
) -> tuple[list[Row], bool]:
    """One page (``newest_first``) of the account's rows whose column equals the value, for
    each ``(column, value)`` of ``equal`` whose value is not None."""
    query = select(model).where(model.account_id == account_id)
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    return await newest_first(
        session, query, model, account_id=account_id, limit=limit, starting_after=starting_after
    )


async def all_newest_first(
    session: AsyncSession, query: Select[Listed], model: type[Listed]
) -> list[Listed]:
    """Every row of ``query``, ordered by (created_at, id) descending: no paging (an export,
    or a list short by nature)."""
    return list(await session.scalars(query.order_by(model.created_at.desc(), model.id.desc())))
