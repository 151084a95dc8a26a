"""Customers and their references at each provider.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
)
from db.repositories.writes import insert_once, unsaved_values


async def add_customer(session: AsyncSession, customer: Customer) -> bool:
    """False when a customer with that id already exists (a repeated idempotent create)."""
    return await insert_once(session, Customer, unsaved_values(customer))


async def get_customer(
    session: AsyncSession, customer_id: str, account_id: str | None = None
) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id)
    if account_id is not None:
        query = query.where(Customer.account_id == account_id)
    result: Customer | None = await session.scalar(query)
    return result


async def set_stripe_customer_id(
    session: AsyncSession, customer_id: str, stripe_customer_id: str
) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(stripe_customer_id=stripe_customer_id)
    )
