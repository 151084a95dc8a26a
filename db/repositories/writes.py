"""Statements shared by every repository: insert once by key, and the versioned projection upsert.

The two writes the worker makes at every step of every payment are built once per dialect and
executed with the row as parameters; building them per call cost more CPU than executing them.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Update, inspect, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Base,
    Payment,
)


async def insert_once(session: AsyncSession, model: type[Base], values: Mapping[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: True if this call inserted the row, False if a row
    with the same key (primary or unique) already existed — including one a racing writer just
    committed. Not a SAVEPOINT around a plain INSERT: under SQLite's driver, a savepoint opened
    before the transaction's first write starts the transaction itself, and releasing it commits
    the caller's work early (test_caller_rollback_undoes_every_write fails that way)."""
    statement = insert_unless_present(dialect_of(session), model.__table__)
    result = await session.execute(statement, by_column(model, values))
    return bool(getattr(result, "rowcount", 0))


async def update_rows(session: AsyncSession, statement: Update) -> int:
    """Run a bulk ``UPDATE``; how many rows it changed. The session's loaded objects are not
    synchronized: the caller re-reads what it needs after a write."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))


async def insert_or_update(
    session: AsyncSession,
    model: type[Base],
    values: Mapping[str, Any],
    *,
    key: str = "id",
    unchanged: Collection[str] = ("created_at",),
    only_if: ColumnElement[bool] | None = None,
) -> bool:
    """Insert the row, or overwrite the stored one with ``values`` but for its ``key`` and the
    ``unchanged`` columns, and only where ``only_if`` holds; True when a row was written."""
    if await insert_once(session, model, values):
        return True
    statement = update(model).where(getattr(model, key) == values[key])
    if only_if is not None:
        statement = statement.where(only_if)
    kept = {key, *unchanged}
    return bool(
        await update_rows(
            session, statement.values(**{k: v for k, v in values.items() if k not in kept})
        )
    )


# The two writes the worker makes at every step of every payment are built once per dialect and
# executed with the row as parameters. Building them per call (``insert(...).values(...)``, an
# ``excluded`` alias of every column) cost more CPU than executing them, and going through the
# ORM entity rather than its table added the ORM's bulk-insert layer on top.
_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


def dialect_of(session: AsyncSession) -> str:
    """The database behind the session: both that Durapay runs on have ``ON CONFLICT``."""
    return session.get_bind().dialect.name


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """The dialect's ``INSERT``, which has ``ON CONFLICT`` clauses, for a statement built once."""
    return _DIALECTS[dialect_name].insert(table)


@functools.cache
def insert_unless_present(dialect_name: str, table: Any) -> Any:
    return dialect_insert(dialect_name, table).on_conflict_do_nothing()


@functools.cache
def upsert_newer_version(dialect_name: str, columns: tuple[str, ...]) -> Any:
    statement = _DIALECTS[dialect_name].insert(Payment.__table__)
    newer = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[Payment.id],
        set_={name: newer[name] for name in columns if name != "id"},
        where=Payment.version < newer.version,
    )


def by_column(model: type[Base], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values keyed by attribute name (``metadata_``), keyed by column name (``metadata``)
    instead, as a Core statement takes them."""
    names = _column_names(model)
    return {names[key]: value for key, value in values.items()}


@functools.cache
def _column_names(model: type[Base]) -> dict[str, str]:
    """Attribute name → column name, looked up once per model (every write of the worker)."""
    return {attr.key: attr.columns[0].name for attr in inspect(model).column_attrs}


def unsaved_values(row: Base) -> dict[str, Any]:
    """Column values of an unsaved ORM instance, by attribute name. An attribute left unset is
    left out when its column has a default, so the default applies as it would on ``add()``."""
    values: dict[str, Any] = {}
    for attr in inspect(type(row)).column_attrs:
        value = getattr(row, attr.key)
        if value is not None or attr.columns[0].default is None:
            values[attr.key] = value
    return values
