"""Operator routes (role ``admin``): figures across every account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdminDep, SessionDep
from db.repositories import dunning as dunning_repo
from db.repositories import payments as payments_repo

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class PaymentTotals(BaseModel):
    status: str
    currency: str
    count: int
    amount: int
    amount_captured: int
    amount_refunded: int


class Stats(BaseModel):
    payments: list[PaymentTotals]


@router.get("/stats")
async def stats(session: SessionDep, _admin: AdminDep) -> Stats:
    """Payments by status and currency, in minor units (currencies are never summed together)."""
    rows = await payments_repo.payment_totals(session)
    return Stats(
        payments=[
            PaymentTotals(
                status=status,
                currency=currency,
                count=count,
                amount=amount,
                amount_captured=captured,
                amount_refunded=refunded,
            )
            for status, currency, count, amount, captured, refunded in rows
        ]
    )


class Dunning(BaseModel):
    open_cases: int
    at_risk: dict[str, int]
    recovered_cases: int
    recovered: dict[str, int]
    lost_cases: int
    recovery_rate: str | None


@router.get("/dunning")
async def dunning(session: SessionDep, _admin: AdminDep) -> Dunning:
    """Failed renewals: open cases and the revenue they put at risk, and how the closed ones ended.

    Amounts are minor units per currency. The recovery rate (recovered / closed cases) is a decimal
    string such as ``"0.667"``, exact to three places rather than a float, and null until a case
    has closed.
    """
    figures = await dunning_repo.dunning_figures(session)
    return Dunning(
        open_cases=figures.open_cases,
        at_risk=figures.at_risk,
        recovered_cases=figures.recovered_cases,
        recovered=figures.recovered,
        lost_cases=figures.lost_cases,
        recovery_rate=figures.recovery_rate_text(),
    )
