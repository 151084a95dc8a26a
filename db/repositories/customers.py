"""Customers and their references at each provider.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
)
from db.repositories.paging import account_page, get_owned
from db.repositories.writes import insert_once, unsaved_values, update_rows


async def add_customer(session: AsyncSession, customer: Customer) -> bool:
    """False when a customer with that id already exists (a repeated idempotent create)."""
    return await insert_once(session, Customer, unsaved_values(customer))


async def get_customer(
    session: AsyncSession, customer_id: str, account_id: str | None = None
) -> Customer | None:
    return await get_owned(session, Customer, customer_id, account_id)


async def list_customers(
    session: AsyncSession,
    *,
    account_id: str,
    email: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Customer], bool]:
    """Newest first; ``email`` matches exactly (an erased customer has none, so never matches)."""
    return await account_page(
        session,
        Customer,
        account_id=account_id,
        equal=[(Customer.email, email)],
        limit=limit,
        starting_after=starting_after,
    )


async def update_customer(
    session: AsyncSession, customer_id: str, values: Mapping[str, Any]
) -> Customer | None:
    """Set the given attributes (``metadata_`` for the metadata) unless the customer is erased;
    the customer as stored now (an erasure that raced this update wins: it comes back erased)."""
    if values:
        await update_rows(
            session,
            update(Customer)
            .where(Customer.id == customer_id, Customer.erased_at.is_(None))
            .values(**values),
        )
    return await _reread(session, customer_id)


async def erase_customer(session: AsyncSession, customer_id: str, erased_at: datetime) -> Customer:
    """Empty what identifies the customer; the first erasure's time stands."""
    await update_rows(
        session,
        update(Customer)
        .where(Customer.id == customer_id, Customer.erased_at.is_(None))
        .values(email=None, name=None, metadata_={}, request_hash=None, erased_at=erased_at),
    )
    erased = await _reread(session, customer_id)
    assert erased is not None
    return erased


async def _reread(session: AsyncSession, customer_id: str) -> Customer | None:
    """The row as stored now: a bulk update leaves the session's loaded object stale."""
    result: Customer | None = await session.scalar(
        select(Customer).where(Customer.id == customer_id).execution_options(populate_existing=True)
    )
    return result


async def set_stripe_customer_id(
    session: AsyncSession, customer_id: str, stripe_customer_id: str
) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(stripe_customer_id=stripe_customer_id)
    )
