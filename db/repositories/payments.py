"""The payment projection, its refunds and its timeline; written only by the payment's workflow.

The projection is versioned: a write carrying an older version than the stored row is a no-op, so a
replayed or retried activity never moves a payment backwards.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
    Payment,
    PaymentEvent,
    PaymentMethod,
    Refund,
    WebhookEndpoint,
)
from db.repositories.paging import account_page, all_newest_first, get_owned
from db.repositories.webhooks_out import ENABLED
from db.repositories.writes import (
    by_column,
    dialect_of,
    insert_once,
    insert_or_update,
    upsert_newer_version,
)


async def save_payment_snapshot(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert, or update only with a newer version: a late or repeated write never goes back.
    One statement (``ON CONFLICT … DO UPDATE … WHERE version <``), because the worker writes a
    snapshot at every step of every payment."""
    row = by_column(Payment, values)
    statement = upsert_newer_version(dialect_of(session), tuple(row))
    result = await session.execute(statement, row)
    return bool(getattr(result, "rowcount", 0))


@functools.cache
def _written_payment_query() -> Select[Any]:
    enabled = exists().where(
        WebhookEndpoint.account_id == bindparam("account_id"),
        WebhookEndpoint.status == ENABLED,
        WebhookEndpoint.deleted_at.is_(None),
    )
    table: Any = Payment.__table__
    return select(table, enabled.label("deliverable")).where(table.c.id == bindparam("payment_id"))


@dataclass(frozen=True)
class WrittenPayment:
    """The payment's row as its transaction just wrote it, by column name, and whether its
    account has an endpoint an event of now might be delivered to."""

    row: Mapping[str, Any]
    deliverable: bool


async def written_payment(
    session: AsyncSession, payment_id: str, account_id: str
) -> WrittenPayment:
    """The row a payment event shows and ``has_enabled_endpoints`` in one prebuilt Core
    statement: a payment's step raising its event reads both."""
    parameters = {"payment_id": payment_id, "account_id": account_id}
    row = (await session.execute(_written_payment_query(), parameters)).one()._mapping
    return WrittenPayment(row=row, deliverable=bool(row["deliverable"]))


async def get_payment(
    session: AsyncSession, payment_id: str, account_id: str | None = None
) -> Payment | None:
    return await get_owned(session, Payment, payment_id, account_id)


@dataclass(frozen=True)
class StartRows:
    """What a new payment's request names, read together: the account's customer, the saved
    method asked for (by id alone: whether it is the customer's and live is the caller's to
    check, None when there is none) and the payment already recorded under the request's id (None
    when there is none)."""

    customer: Customer
    method: PaymentMethod | None
    recorded: Payment | None


async def start_rows(
    session: AsyncSession,
    *,
    payment_id: str,
    account_id: str,
    customer_id: str,
    method_id: str | None,
) -> StartRows | None:
    """One query instead of three (every ``POST /v1/payments`` reads all three, each by its
    primary key); None when the account has no customer ``customer_id``."""
    owned_customer = (Customer.id == customer_id, Customer.account_id == account_id)
    if method_id is None:
        found = (
            await session.execute(
                select(Customer, Payment)
                .select_from(Customer)
                .outerjoin(Payment, Payment.id == payment_id)
                .where(*owned_customer)
            )
        ).first()
        if found is None:
            return None
        return StartRows(customer=found[0], method=None, recorded=found[1])
    row = (
        await session.execute(
            select(Customer, Payment, PaymentMethod)
            .select_from(Customer)
            .outerjoin(Payment, Payment.id == payment_id)
            .outerjoin(PaymentMethod, PaymentMethod.id == method_id)
            .where(*owned_customer)
        )
    ).first()
    if row is None:
        return None
    customer, recorded, method = row
    return StartRows(customer=customer, method=method, recorded=recorded)


async def find_payment_by_provider_reference(
    session: AsyncSession, provider: str, reference: str
) -> Payment | None:
    result: Payment | None = await session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_reference == reference)
    )
    return result


async def list_payments(
    session: AsyncSession,
    *,
    account_id: str,
    customer_id: str | None = None,
    status: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Payment], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    return await account_page(
        session,
        Payment,
        account_id=account_id,
        equal=[(Payment.customer_id, customer_id), (Payment.status, status)],
        limit=limit,
        starting_after=starting_after,
    )


async def save_refund(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Insert, or update the refund's outcome (a pending refund that settled later)."""
    await insert_or_update(session, Refund, values)


async def get_refund(session: AsyncSession, refund_id: str) -> Refund | None:
    result: Refund | None = await session.scalar(select(Refund).where(Refund.id == refund_id))
    return result


async def list_refunds(session: AsyncSession, payment_id: str) -> list[Refund]:
    return await all_newest_first(
        session, select(Refund).where(Refund.payment_id == payment_id), Refund
    )


async def append_payment_event(
    session: AsyncSession,
    *,
    payment_id: str,
    seq: int,
    type: str,
    data: dict[str, Any],
    created_at: datetime,
) -> bool:
    """Append once per (payment, seq): a retried write adds nothing."""
    return await insert_once(
        session,
        PaymentEvent,
        {
            "payment_id": payment_id,
            "seq": seq,
            "type": type,
            "data": data,
            "created_at": created_at,
        },
    )


async def list_payment_events(session: AsyncSession, payment_id: str) -> list[PaymentEvent]:
    rows = await session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.seq)
    )
    return list(rows)


async def payment_totals(
    session: AsyncSession, account_id: str
) -> list[tuple[str, str, int, int, int, int]]:
    """The account's, per (status, currency): payment count, amount, amount captured, amount
    refunded."""
    rows = await session.execute(
        select(
            Payment.status,
            Payment.currency,
            func.count(),
            func.coalesce(func.sum(Payment.amount), 0),
            func.coalesce(func.sum(Payment.amount_captured), 0),
            func.coalesce(func.sum(Payment.amount_refunded), 0),
        )
        .where(Payment.account_id == account_id)
        .group_by(Payment.status, Payment.currency)
        .order_by(Payment.status, Payment.currency)
    )
    return [(s, c, int(n), int(a), int(cap), int(ref)) for s, c, n, a, cap, ref in rows.all()]


async def payments_of_customer(session: AsyncSession, customer_id: str) -> list[Payment]:
    """Every payment of the customer, newest first (an export: no paging)."""
    return await all_newest_first(
        session, select(Payment).where(Payment.customer_id == customer_id), Payment
    )


async def refunds_of_customer(session: AsyncSession, customer_id: str) -> list[Refund]:
    """Every refund of the customer's payments, newest first."""
    return await all_newest_first(
        session,
        select(Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.customer_id == customer_id),
        Refund,
    )
