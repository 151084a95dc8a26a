"""Dunning cases behind ``GET /v1/admin/dunning``: one per unpaid renewal invoice.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DunningCase
from db.repositories.writes import insert_once, update_rows

DunningOutcome = Literal["recovered", "lost"]


def dunning_case_id(invoice_id: str) -> str:
    """The case id is its workflow id: one case, and one workflow, per unpaid invoice."""
    return f"dun_{invoice_id}"


async def open_dunning_case(
    session: AsyncSession,
    *,
    invoice_id: str,
    subscription_id: str,
    customer_id: str,
    account_id: str,
    amount: int,
    currency: str,
    opened_at: datetime,
) -> bool:
    """Open the case for an unpaid invoice once; False when it already existed, in any status, so
    a retried open never reopens a case that was since recovered or lost."""
    return await insert_once(
        session,
        DunningCase,
        {
            "id": dunning_case_id(invoice_id),
            "invoice_id": invoice_id,
            "subscription_id": subscription_id,
            "customer_id": customer_id,
            "account_id": account_id,
            "amount": amount,
            "currency": currency,
            "status": "open",
            "opened_at": opened_at,
            "closed_at": None,
        },
    )


async def close_dunning_case(
    session: AsyncSession, invoice_id: str, outcome: DunningOutcome, closed_at: datetime
) -> bool:
    """Close an open case; False if it was already closed (its first outcome stands) or missing."""
    closing = (
        update(DunningCase)
        .where(DunningCase.invoice_id == invoice_id, DunningCase.status == "open")
        .values(status=outcome, closed_at=closed_at)
    )
    return bool(await update_rows(session, closing))


async def get_dunning_case(session: AsyncSession, invoice_id: str) -> DunningCase | None:
    result: DunningCase | None = await session.scalar(
        select(DunningCase).where(DunningCase.invoice_id == invoice_id)
    )
    return result


@dataclass(frozen=True)
class DunningFigures:
    """Where failed renewals stand. Amounts are minor units per currency (never summed across
    currencies); the recovery rate is exact, and ``None`` while no case has closed."""

    open_cases: int
    at_risk: dict[str, int]
    recovered_cases: int
    recovered: dict[str, int]
    lost_cases: int

    @property
    def recovery_rate(self) -> Fraction | None:
        closed = self.recovered_cases + self.lost_cases
        return Fraction(self.recovered_cases, closed) if closed else None

    def recovery_rate_text(self, places: int = 3) -> str | None:
        """The rate as a decimal string rounded half up, e.g. ``"0.667"``, for JSON responses."""
        rate = self.recovery_rate
        if rate is None:
            return None
        scale = 10**places
        scaled = (2 * rate.numerator * scale + rate.denominator) // (2 * rate.denominator)
        whole, fraction = divmod(scaled, scale)
        return f"{whole}.{fraction:0{places}d}" if places else str(whole)


async def dunning_figures(session: AsyncSession, account_id: str | None = None) -> DunningFigures:
    """Figures for one account, or for every account when ``account_id`` is None."""
    query = select(
        DunningCase.status,
        DunningCase.currency,
        func.count(),
        func.coalesce(func.sum(DunningCase.amount), 0),
    ).group_by(DunningCase.status, DunningCase.currency)
    if account_id is not None:
        query = query.where(DunningCase.account_id == account_id)
    counts: dict[str, int] = {"open": 0, "recovered": 0, "lost": 0}
    amounts: dict[str, dict[str, int]] = {"open": {}, "recovered": {}, "lost": {}}
    for status, currency, count, amount in (await session.execute(query)).all():
        counts[status] += int(count)
        amounts[status][currency] = int(amount)
    return DunningFigures(
        open_cases=counts["open"],
        at_risk=amounts["open"],
        recovered_cases=counts["recovered"],
        recovered=amounts["recovered"],
        lost_cases=counts["lost"],
    )
