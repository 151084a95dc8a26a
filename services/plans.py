"""The plan catalog, as every start loads it from the versioned file (``db.catalog``), and a plan's
terms as a subscription workflow receives them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.subscriptions import PlanInterval, PlanTerms
from db.models import Plan
from db.repositories import plans as plans_repo
from services import errors
from services.database import Database


async def list_plans(database: Database) -> list[Plan]:
    """The whole catalog, cheapest first: a handful of rows, so no cursor."""
    async with database.reading() as session:
        return await plans_repo.list_plans(session)


async def requested_plan(session: AsyncSession, plan_id: str) -> Plan:
    """The plan a request names; an unknown one is a 422 (a field of the request is wrong), not
    a 404 (the resource addressed is there)."""
    plan = await plans_repo.get_plan(session, plan_id)
    if plan is None:
        raise errors.PlanNotFound(f"No plan {plan_id}; GET /v1/plans lists them.")
    return plan


def plan_terms(plan: Plan) -> PlanTerms:
    return PlanTerms(plan.id, plan.name, plan.amount, plan.currency, PlanInterval(plan.interval))
