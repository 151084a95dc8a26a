"""Operator routes (role ``admin``): the figures of the caller's own account."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import AdminDep, RuntimeDep
from api.schemas.admin import Dunning, PaymentTotals, Stats
from services import admin

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/stats")
async def stats(runtime: RuntimeDep, admin_key: AdminDep) -> Stats:
    """Payments by status and currency, in minor units (currencies are never summed together)."""
    totals = await admin.payment_totals(runtime, admin_key.account_id)
    return Stats(payments=[PaymentTotals.model_validate(total) for total in totals])


@router.get("/dunning")
async def dunning(runtime: RuntimeDep, admin_key: AdminDep) -> Dunning:
    """Failed renewals: open cases and the revenue they put at risk, and how the closed ones ended.

    Amounts are minor units per currency. The recovery rate (recovered / closed cases) is a decimal
    string such as ``"0.667"``, exact to three places rather than a float, and null until a case
    has closed.
    """
    figures = await admin.dunning_figures(runtime, admin_key.account_id)
    return Dunning.model_validate(asdict(figures) | {"recovery_rate": figures.recovery_rate_text()})
