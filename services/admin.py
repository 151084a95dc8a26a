"""Figures of one account, for its operators (API keys with the ``admin`` role): an admin key sees
its own account's figures, never another's."""

from __future__ import annotations

from dataclasses import dataclass

from db.repositories import dunning as dunning_repo
from db.repositories import payments as payments_repo
from db.repositories.dunning import DunningFigures
from services.runtime import Runtime


@dataclass(frozen=True)
class PaymentTotal:
    """Payments of one status in one currency, amounts in minor units."""

    status: str
    currency: str
    count: int
    amount: int
    amount_captured: int
    amount_refunded: int


async def payment_totals(runtime: Runtime, account_id: str) -> list[PaymentTotal]:
    """By status and currency: currencies are never summed together."""
    async with runtime.database.reading() as session:
        rows = await payments_repo.payment_totals(session, account_id)
    return [PaymentTotal(*row) for row in rows]


async def dunning_figures(runtime: Runtime, account_id: str) -> DunningFigures:
    async with runtime.database.reading() as session:
        return await dunning_repo.dunning_figures(session, account_id)
