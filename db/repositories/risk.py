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

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.risk import CustomerHistory, PeriodLimits
from db.models import Customer, LimitCounter, LimitUsage, Payment, PaymentEvent, RiskRuleSet
from db.repositories.writes import dialect_insert, dialect_of, insert_or_update, update_rows

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


def _history_columns() -> tuple[Any, ...]:
    """What scoring counts of one customer's payments, as aggregates of one scan of them (the
    customer's index): failed and all payments of the last hour, leaving out the payment being
    scored, and the count and average amount of those that succeeded in the currency."""
    recent = and_(
        Payment.created_at >= bindparam("hour_ago"),
        Payment.created_at <= bindparam("now"),
        Payment.id != bindparam("payment_id"),
    )
    succeeded = and_(Payment.currency == bindparam("currency"), Payment.status == "succeeded")
    return (
        func.count(case((and_(recent, Payment.status == "failed"), 1))),
        func.count(case((recent, 1))),
        func.count(case((succeeded, 1))),
        func.coalesce(func.avg(case((succeeded, Payment.amount))), 0),
    )


@functools.cache
def _history_query() -> Select[Any]:
    return select(*_history_columns()).where(Payment.customer_id == bindparam("customer_id"))


@functools.cache
def _assessment_query() -> Select[Any]:
    """The customer's email and age with its history: one statement per payment's assessment."""
    return (
        select(Customer.email, Customer.created_at, *_history_columns())
        .select_from(Customer)
        .outerjoin(Payment, Payment.customer_id == Customer.id)
        .where(Customer.id == bindparam("customer_id"))
        .group_by(Customer.id, Customer.email, Customer.created_at)
    )


def _history_parameters(
    customer_id: str, currency: str, now: datetime, payment_id: str
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "currency": currency,
        "now": now,
        "hour_ago": now - timedelta(hours=1),
        "payment_id": payment_id,
    }


def _history(counts: Sequence[Any], created_at: datetime, now: datetime) -> CustomerHistory:
    failed, payments, succeeded, average = counts
    return CustomerHistory(
        failed_last_hour=int(failed or 0),
        payments_last_hour=int(payments or 0),
        customer_age_seconds=max(0, int((now - created_at).total_seconds())),
        succeeded_count=int(succeeded or 0),
        succeeded_average=int(average or 0),
    )


async def customer_history(
    session: AsyncSession, customer: Customer, currency: str, now: datetime, payment_id: str
) -> CustomerHistory:
    """What scoring counts of ``customer`` at ``now``, leaving out the payment being scored."""
    parameters = _history_parameters(customer.id, currency, now, payment_id)
    counts = (await session.execute(_history_query(), parameters)).one()
    return _history(tuple(counts), customer.created_at, now)


@dataclass(frozen=True)
class Assessed:
    """What a payment's assessment reads of its customer: the email (its domain may be matched
    by rules) and the history scoring counts."""

    email: str | None
    history: CustomerHistory


async def assessed_customer(
    session: AsyncSession, customer_id: str, currency: str, now: datetime, payment_id: str
) -> Assessed | None:
    """``customer_history`` and the customer's email in one statement; None without the
    customer."""
    parameters = _history_parameters(customer_id, currency, now, payment_id)
    row = (await session.execute(_assessment_query(), parameters)).first()
    if row is None:
        return None
    email, created_at, *counts = row
    return Assessed(email=email, history=_history(counts, created_at, now))


@dataclass(frozen=True)
class Usage:
    """A customer's reserved totals in one currency for a UTC day and its month."""

    daily: int
    monthly: int


def periods(at: datetime) -> tuple[str, str]:
    """The UTC day and month ``at`` falls in, as stored in ``limit_usage``."""
    return at.strftime("%Y-%m-%d"), at.strftime("%Y-%m")


@functools.cache
def _usage_query() -> Select[Any]:
    """The month's and the day's held totals in one statement."""
    return select(
        func.coalesce(func.sum(LimitUsage.amount), 0),
        func.coalesce(
            func.sum(case((LimitUsage.day == bindparam("day"), LimitUsage.amount), else_=0)), 0
        ),
    ).where(
        LimitUsage.customer_id == bindparam("customer_id"),
        LimitUsage.currency == bindparam("currency"),
        LimitUsage.month == bindparam("month"),
        LimitUsage.released_at.is_(None),
    )


async def usage(session: AsyncSession, customer_id: str, currency: str, at: datetime) -> Usage:
    day, month = periods(at)
    parameters = {"customer_id": customer_id, "currency": currency, "day": day, "month": month}
    monthly, daily = (await session.execute(_usage_query(), parameters)).one()
    return Usage(daily=int(daily or 0), monthly=int(monthly or 0))


@functools.cache
def _count_reservation(dialect_name: str) -> Any:
    """The customer's counter row, inserted or bumped: the reservation's first write."""
    statement = dialect_insert(dialect_name, LimitCounter.__table__)
    return statement.on_conflict_do_update(
        index_elements=[LimitCounter.customer_id],
        set_={
            "reservations": LimitCounter.reservations + 1,
            "updated_at": statement.excluded.updated_at,
        },
    )


@functools.cache
def _reservation_query() -> Select[Any]:
    """Whether the payment holds a reservation already (found, not released) and the held
    totals ``_usage_query`` sums, in one statement."""
    mine = LimitUsage.payment_id == bindparam("payment_id")
    return _usage_query().add_columns(
        exists().where(mine).correlate(None).label("found"),
        exists().where(mine, LimitUsage.released_at.is_(None)).correlate(None).label("held"),
    )


_INSERT_USAGE = insert(LimitUsage)


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
    customer past ``limits``; True when the payment holds a reservation (a repeat finds it).
    Prebuilt Core statements: this runs at the start of every payment."""
    await session.execute(
        _count_reservation(dialect_of(session)),
        {"customer_id": customer_id, "reservations": 1, "updated_at": now},
    )
    day, month = periods(at)
    parameters = {
        "payment_id": payment_id,
        "customer_id": customer_id,
        "currency": limits.currency,
        "day": day,
        "month": month,
    }
    monthly, daily, found, held = (await session.execute(_reservation_query(), parameters)).one()
    if found:
        return bool(held)
    if int(daily or 0) + amount > limits.daily or int(monthly or 0) + amount > limits.monthly:
        return False
    await session.execute(
        _INSERT_USAGE,
        {
            "payment_id": payment_id,
            "customer_id": customer_id,
            "currency": limits.currency,
            "amount": amount,
            "day": day,
            "month": month,
            "created_at": now,
            "released_at": None,
        },
    )
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
