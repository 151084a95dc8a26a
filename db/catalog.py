"""The plan catalog: a versioned JSON file in the repository, loaded into the ``plans`` table.

Prices are code-reviewed data, not rows someone edits by hand: a change is a new file version, and
every process loads the file at start. Loading is an upsert guarded by the version, so running it on
every start is harmless, two processes starting together do not conflict, and an older build still
running during a deploy cannot put back the prices a newer catalog replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
