"""Operator routes (role ``admin``): figures across every account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdminDep, SessionDep
from db import repository

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
    rows = await repository.payment_totals(session)
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
