"""The plan catalog: loaded from the versioned file at start, read by subscriptions.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import DEFAULT_CATALOG, read_plan_catalog
from db.models import Plan
from db.repositories.writes import insert_once, update_rows


async def list_plans(session: AsyncSession) -> list[Plan]:
    """Cheapest first; the id breaks ties so the order is stable."""
    rows = await session.scalars(select(Plan).order_by(Plan.amount, Plan.id))
    return list(rows)


async def get_plan(session: AsyncSession, plan_id: str) -> Plan | None:
    result: Plan | None = await session.scalar(select(Plan).where(Plan.id == plan_id))
    return result


async def load_plan_catalog(session: AsyncSession, path: Path = DEFAULT_CATALOG) -> int:
    """Upsert every plan of the file by id; returns how many rows were inserted or changed.

    A stored row is only overwritten by a catalog of the same or a newer version, and only when a
    value differs, so the count is 0 when the table already says what the file says. Plans that a
    newer file drops stay in the table: existing subscriptions still refer to them. Flushes but
    does not commit, like every query in ``db``.
    """
    catalog = await asyncio.to_thread(read_plan_catalog, path)
    written = 0
    for plan in catalog.plans:
        values = {**plan.model_dump(), "catalog_version": catalog.version}
        if await insert_once(session, Plan, values):
            written += 1
            continue
        written += await update_rows(
            session,
            update(Plan)
            .where(
                Plan.id == plan.id,
                Plan.catalog_version <= catalog.version,
                or_(*(getattr(Plan, column) != value for column, value in values.items())),
            )
            .values(**values),
        )
    return written
