"""The plan catalog, as every start loads it from the versioned file (``db.catalog``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Page
from api.schemas.plans import PlanOut
from api.views import plan_out
from db.repositories import plans as plans_repo

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get("")
async def list_plans(session: SessionDep, _principal: PrincipalDep) -> Page[PlanOut]:
    """The whole catalog in one page, cheapest first: it is a handful of rows, so no cursor."""
    plans = await plans_repo.list_plans(session)
    return Page[PlanOut](data=[plan_out(plan) for plan in plans], has_more=False)
