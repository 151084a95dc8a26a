"""The plan catalog: a versioned JSON file in the repository, loaded into the ``plans`` table.

Prices are code-reviewed data, not rows someone edits by hand: a change is a new file version, and
every process loads the file at start. Loading is an upsert guarded by the version, so running it on
every start is harmless, two processes starting together do not conflict, and an older build still
running during a deploy cannot put back the prices a newer catalog replaced.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Plan
from db.repository import _insert_once
from money import ISO_4217, MAX_AMOUNT

DEFAULT_CATALOG = Path(__file__).with_name("catalog") / "plans.v1.json"


class CatalogPlan(BaseModel):
    """One plan as the file states it; strict, so ``"2900"`` or ``29.0`` is refused, not coerced."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    amount: int = Field(ge=0, le=MAX_AMOUNT)
    currency: str
    interval: Literal["month", "year"]
    trial_days: int = Field(ge=0)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError(f"{value!r} is not an upper-case ISO 4217 code")
        return value


class PlanCatalog(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    version: int = Field(ge=1)
    plans: tuple[CatalogPlan, ...]

    @field_validator("plans")
    @classmethod
    def _unique_ids(cls, plans: tuple[CatalogPlan, ...]) -> tuple[CatalogPlan, ...]:
        ids = [plan.id for plan in plans]
        if len(set(ids)) != len(ids):
            raise ValueError("plan ids must be unique")
        return plans


def read_plan_catalog(path: Path = DEFAULT_CATALOG) -> PlanCatalog:
    """Parse and validate the file; a malformed catalog stops the start instead of selling wrong."""
    return PlanCatalog.model_validate_json(path.read_bytes())


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
        if await _insert_once(session, Plan, values):
            written += 1
            continue
        result = await session.execute(
            update(Plan)
            .where(
                Plan.id == plan.id,
                Plan.catalog_version <= catalog.version,
                or_(*(getattr(Plan, column) != value for column, value in values.items())),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        written += int(getattr(result, "rowcount", 0))
    return written
