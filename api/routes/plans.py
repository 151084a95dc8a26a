"""The plan catalog, as every start loads it from the versioned file (``db.catalog``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, RuntimeDep
from api.schemas.common import Page, page_of
from api.schemas.plans import PlanOut
from services import plans

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get("")
async def list_plans(runtime: RuntimeDep, _principal: PrincipalDep) -> Page[PlanOut]:
    """The whole catalog in one page, cheapest first: it is a handful of rows, so no cursor."""
    rows = await plans.list_plans(runtime.database)
    return page_of(PlanOut, rows)
