"""Queries of subscription billing: plans, the subscription projection, invoices, dunning cases.

Same rules as ``db.repository``: functions flush but never commit (the caller owns the
transaction), and every write a retry may repeat is idempotent by key. The subscription projection
is versioned like the payments one; an invoice is unique per (subscription, period start), so a
billing cycle run twice finds its invoice instead of charging a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DunningCase, Invoice, Plan, Subscription
from db.repository import _insert_once

Row = TypeVar("Row", Subscription, Invoice)
InvoiceStatus = Literal["open", "paid", "void", "uncollectible"]
DunningOutcome = Literal["recovered", "lost"]

_INVOICE_STATUSES_FROM: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "paid": ("open", "paid", "uncollectible"),
    "void": ("open", "void", "uncollectible"),
    "uncollectible": ("open", "uncollectible"),
}
"""For each status an invoice may be set to, the statuses it may be set from. ``paid`` and
``void`` are final; an ``uncollectible`` invoice can still be paid late (a new card) or voided."""

# ------------------------------------------------------------------ plans


async def list_plans(session: AsyncSession) -> list[Plan]:
    """Cheapest first; the id breaks ties so the order is stable."""
    rows = await session.scalars(select(Plan).order_by(Plan.amount, Plan.id))
    return list(rows)


async def get_plan(session: AsyncSession, plan_id: str) -> Plan | None:
    result: Plan | None = await session.scalar(select(Plan).where(Plan.id == plan_id))
    return result


# ------------------------------------------------------------------ subscriptions


async def save_subscription_snapshot(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert, or update only with a newer version: a late or repeated write never goes back."""
    if await _insert_once(session, Subscription, values):
        return True
    result = await session.execute(
        update(Subscription)
        .where(Subscription.id == values["id"], Subscription.version < values["version"])
        .values(**{k: v for k, v in values.items() if k not in ("id", "created_at")})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def get_subscription(
    session: AsyncSession, subscription_id: str, account_id: str | None = None
) -> Subscription | None:
    query = select(Subscription).where(Subscription.id == subscription_id)
    if account_id is not None:
        query = query.where(Subscription.account_id == account_id)
    result: Subscription | None = await session.scalar(query)
    return result


async def list_subscriptions(
    session: AsyncSession,
    *,
    account_id: str,
    customer_id: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Subscription], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    query = select(Subscription).where(Subscription.account_id == account_id)
    if customer_id is not None:
        query = query.where(Subscription.customer_id == customer_id)
    cursor = None
    if starting_after is not None:
        cursor = await get_subscription(session, starting_after, account_id)
        if cursor is None:
            return [], False
    return await _newest_first(session, query, Subscription, cursor, limit)


# ------------------------------------------------------------------ invoices


async def create_invoice(session: AsyncSession, values: Mapping[str, Any]) -> tuple[Invoice, bool]:
    """Insert the period's invoice once; the bool says whether this call created it.

    On a repeat for the same (subscription, period start) the stored invoice is returned unchanged,
    whatever this call's values say: the first invoice of a period is the one that gets charged.
    """
    created = await _insert_once(session, Invoice, values)
    stored: Invoice | None = await session.scalar(
        select(Invoice).where(
            Invoice.subscription_id == values["subscription_id"],
            Invoice.period_start == values["period_start"],
        )
    )
    if stored is None:
        raise ValueError(f"invoice id {values['id']!r} is already used by another period")
    return stored, created


async def update_invoice(
    session: AsyncSession,
    invoice_id: str,
    *,
    status: InvoiceStatus,
    amount_paid: int,
    attempt_count: int,
    next_payment_attempt: datetime | None,
    payment_id: str | None,
    updated_at: datetime,
) -> bool:
    """Record the outcome of a payment attempt; False when the write would go backwards.

    Refused (and a no-op): leaving a final status (see ``_INVOICE_STATUSES_FROM``), or a lower
    ``attempt_count`` than stored, which is how a late retry of an older write shows itself.
    """
    result = await session.execute(
        update(Invoice)
        .where(
            Invoice.id == invoice_id,
            Invoice.status.in_(_INVOICE_STATUSES_FROM[status]),
            Invoice.attempt_count <= attempt_count,
        )
        .values(
            status=status,
            amount_paid=amount_paid,
            attempt_count=attempt_count,
            next_payment_attempt=next_payment_attempt,
            payment_id=payment_id,
            updated_at=updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def get_invoice(
    session: AsyncSession, invoice_id: str, account_id: str | None = None
) -> Invoice | None:
    query = select(Invoice).where(Invoice.id == invoice_id)
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    result: Invoice | None = await session.scalar(query)
    return result


async def list_invoices(
    session: AsyncSession,
    *,
    account_id: str,
    subscription_id: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Invoice], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    query = select(Invoice).where(Invoice.account_id == account_id)
    if subscription_id is not None:
        query = query.where(Invoice.subscription_id == subscription_id)
    cursor = None
    if starting_after is not None:
        cursor = await get_invoice(session, starting_after, account_id)
        if cursor is None:
            return [], False
    return await _newest_first(session, query, Invoice, cursor, limit)


# ------------------------------------------------------------------ dunning


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
    return await _insert_once(
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
    result = await session.execute(
        update(DunningCase)
        .where(DunningCase.invoice_id == invoice_id, DunningCase.status == "open")
        .values(status=outcome, closed_at=closed_at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


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


# ------------------------------------------------------------------ helpers


async def _newest_first(
    session: AsyncSession,
    query: Select[Row],
    model: type[Row],
    cursor: Row | None,
    limit: int,
) -> tuple[list[Row], bool]:
    """One page ordered by (created_at, id) descending, after ``cursor`` when given: the id breaks
    ties between equal timestamps, so no page repeats or skips a row."""
    if cursor is not None:
        query = query.where(
            or_(
                model.created_at < cursor.created_at,
                (model.created_at == cursor.created_at) & (model.id < cursor.id),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit
