"""Customers and their references at each provider.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
)
from db.repositories.paging import get_owned
from db.repositories.writes import insert_once, unsaved_values


async def add_customer(session: AsyncSession, customer: Customer) -> bool:
    """False when a customer with that id already exists (a repeated idempotent create)."""
    return await insert_once(session, Customer, unsaved_values(customer))


async def get_customer(
    session: AsyncSession, customer_id: str, account_id: str | None = None
) -> Customer | None:
    return await get_owned(session, Customer, customer_id, account_id)


async def set_stripe_customer_id(
    session: AsyncSession, customer_id: str, stripe_customer_id: str
) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(stripe_customer_id=stripe_customer_id)
    )
