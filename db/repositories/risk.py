"""Risk's queries: an account's rules, a customer's recent history, limit reservations and the
review queue.

A reservation is one transaction that writes the customer's counter row first, then sums the
day and the month and inserts the payment's row only if both stay within the limits. Writing
first is what makes it atomic on both databases: PostgreSQL holds the counter row's lock until
commit, so a concurrent reservation of the same customer waits and then sums what this one
inserted; SQLite takes its single write lock at that first write (the transaction has read
nothing yet, so no stale snapshot can follow), and a concurrent one waits for it in its busy
handler. Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.risk import CustomerHistory, PeriodLimits
from db.models import Customer, LimitCounter, LimitUsage, Payment, PaymentEvent, RiskRuleSet
from db.repositories.writes import dialect_of, insert_or_update, update_rows

REVIEW_OPENED = "review.opened"
"""The timeline entry a payment gets when it goes under review (``data.expires_at``)."""


async def get_rules(session: AsyncSession, account_id: str) -> RiskRuleSet | None:
    return await session.get(RiskRuleSet, account_id)


async def put_rules(
    session: AsyncSession, account_id: str, values: Mapping[str, Any], now: datetime
) -> None:
    """Replace the account's rules (``thresholds``, ``rules``) with ``values``."""
    await insert_or_update(
        session,
        RiskRuleSet,
        {"account_id": account_id, **values, "updated_at": now},
        key="account_id",
        unchanged=(),
    )


async def customer_history(
    session: AsyncSession, customer: Customer, currency: str, now: datetime, payment_id: str
) -> CustomerHistory:
    """What scoring counts of ``customer`` at ``now``, leaving out the payment being scored."""
    hour_ago = now - timedelta(hours=1)
    recent = (
        Payment.customer_id == customer.id,
        Payment.created_at >= hour_ago,
        Payment.created_at <= now,
        Payment.id != payment_id,
    )
    failed = await session.scalar(
        select(func.count()).where(*recent, Payment.status == "failed").select_from(Payment)
    )
    payments = await session.scalar(select(func.count()).where(*recent).select_from(Payment))
    succeeded = (
        await session.execute(
            select(func.count(), func.coalesce(func.avg(Payment.amount), 0)).where(
                Payment.customer_id == customer.id,
                Payment.currency == currency,
                Payment.status == "succeeded",
            )
        )
    ).one()
    return CustomerHistory(
        failed_last_hour=int(failed or 0),
        payments_last_hour=int(payments or 0),
        customer_age_seconds=max(0, int((now - customer.created_at).total_seconds())),
        succeeded_count=int(succeeded[0]),
        succeeded_average=int(succeeded[1]),
    )


@dataclass(frozen=True)
class Usage:
    """A customer's reserved totals in one currency for a UTC day and its month."""

    daily: int
    monthly: int


def periods(at: datetime) -> tuple[str, str]:
    """The UTC day and month ``at`` falls in, as stored in ``limit_usage``."""
    return at.strftime("%Y-%m-%d"), at.strftime("%Y-%m")


async def usage(session: AsyncSession, customer_id: str, currency: str, at: datetime) -> Usage:
    day, month = periods(at)
    held = (
        LimitUsage.customer_id == customer_id,
        LimitUsage.currency == currency,
        LimitUsage.month == month,
        LimitUsage.released_at.is_(None),
    )
    monthly = await session.scalar(
        select(func.coalesce(func.sum(LimitUsage.amount), 0)).where(*held)
    )
    daily = await session.scalar(
        select(func.coalesce(func.sum(LimitUsage.amount), 0)).where(*held, LimitUsage.day == day)
    )
    return Usage(daily=int(daily or 0), monthly=int(monthly or 0))


async def reserve(
    session: AsyncSession,
    *,
    payment_id: str,
    customer_id: str,
    amount: int,
    limits: PeriodLimits,
    at: datetime,
    now: datetime,
) -> bool:
    """Reserve ``amount`` for the payment in ``at``'s day and month, unless that would take the
    customer past ``limits``; True when the payment holds a reservation (a repeat finds it)."""
    values = {"customer_id": customer_id, "reservations": 1, "updated_at": now}
    bump = {"reservations": LimitCounter.reservations + 1, "updated_at": now}
    if dialect_of(session) == "postgresql":
        await session.execute(
            postgresql.insert(LimitCounter)
            .values(values)
            .on_conflict_do_update(index_elements=[LimitCounter.customer_id], set_=bump)
        )
    else:
        await session.execute(
            sqlite.insert(LimitCounter)
            .values(values)
            .on_conflict_do_update(index_elements=[LimitCounter.customer_id], set_=bump)
        )
    existing = await session.get(LimitUsage, payment_id)
    if existing is not None:
        return existing.released_at is None
    held = await usage(session, customer_id, limits.currency, at)
    if held.daily + amount > limits.daily or held.monthly + amount > limits.monthly:
        return False
    day, month = periods(at)
    session.add(
        LimitUsage(
            payment_id=payment_id,
            customer_id=customer_id,
            currency=limits.currency,
            amount=amount,
            day=day,
            month=month,
            created_at=now,
            released_at=None,
        )
    )
    await session.flush()
    return True


async def release(session: AsyncSession, payment_id: str, now: datetime) -> bool:
    """Give the payment's reservation back (it failed or was canceled); True if it held one."""
    return bool(
        await update_rows(
            session,
            update(LimitUsage)
            .where(LimitUsage.payment_id == payment_id, LimitUsage.released_at.is_(None))
            .values(released_at=now),
        )
    )


async def open_reviews(
    session: AsyncSession, account_id: str
) -> Sequence[tuple[Payment, PaymentEvent | None]]:
    """The account's payments under review, oldest first, each with its ``review.opened`` entry."""
    rows = await session.execute(
        select(Payment, PaymentEvent)
        .outerjoin(
            PaymentEvent,
            (PaymentEvent.payment_id == Payment.id) & (PaymentEvent.type == REVIEW_OPENED),
        )
        .where(Payment.account_id == account_id, Payment.status == "under_review")
        .order_by(Payment.created_at, Payment.id)
    )
    return [(payment, event) for payment, event in rows]
