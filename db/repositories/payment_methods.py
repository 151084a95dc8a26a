"""Saved payment methods: provider tokens by customer, soft-deleted, one default per customer.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    PaymentMethod,
)
from db.repositories.paging import all_newest_first
from db.repositories.writes import insert_once, unsaved_values


async def save_payment_method(session: AsyncSession, method: PaymentMethod) -> PaymentMethod:
    """Insert once by id; the customer's first live method becomes the default. Saving a
    deleted method again restores it (its id is derived from customer and token, so it is the
    same method), as the default if the customer has no other live one."""
    existing = await get_payment_method(session, method.id)
    if existing is not None and existing.deleted_at is None:
        return existing
    live = await list_payment_methods(session, method.customer_id)
    if existing is not None:
        existing.deleted_at = None
        existing.is_default = not live
        await session.flush()
        return existing
    await insert_once(session, PaymentMethod, {**unsaved_values(method), "is_default": not live})
    saved = await get_payment_method(session, method.id)
    assert saved is not None
    return saved


async def get_payment_method(session: AsyncSession, method_id: str) -> PaymentMethod | None:
    result: PaymentMethod | None = await session.scalar(
        select(PaymentMethod).where(PaymentMethod.id == method_id)
    )
    return result


async def all_payment_methods(session: AsyncSession, customer_id: str) -> list[PaymentMethod]:
    """Every method the customer ever saved, deleted ones too, newest first (an export)."""
    return await all_newest_first(
        session,
        select(PaymentMethod).where(PaymentMethod.customer_id == customer_id),
        PaymentMethod,
    )


async def list_payment_methods(session: AsyncSession, customer_id: str) -> list[PaymentMethod]:
    return await all_newest_first(
        session,
        select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.deleted_at.is_(None)
        ),
        PaymentMethod,
    )


async def set_default_payment_method(
    session: AsyncSession, customer_id: str, method_id: str
) -> PaymentMethod | None:
    methods, chosen = await _live_method(session, customer_id, method_id)
    if chosen is not None:
        for method in methods:
            method.is_default = method is chosen
        await session.flush()
    return chosen


async def soft_delete_payment_method(
    session: AsyncSession, customer_id: str, method_id: str
) -> PaymentMethod | None:
    """Past payments keep their method; the newest remaining one becomes default if needed."""
    methods, doomed = await _live_method(session, customer_id, method_id)
    if doomed is not None:
        doomed.deleted_at = datetime.now(UTC)
        remaining = [m for m in methods if m is not doomed]
        if doomed.is_default and remaining:
            remaining[0].is_default = True
        doomed.is_default = False
        await session.flush()
    return doomed


async def _live_method(
    session: AsyncSession, customer_id: str, method_id: str
) -> tuple[list[PaymentMethod], PaymentMethod | None]:
    """The customer's live methods, newest first, and the one with ``method_id`` among them."""
    methods = await list_payment_methods(session, customer_id)
    return methods, next((m for m in methods if m.id == method_id), None)
