"""An account reaches only its own resources: another account's is as unknown as a missing one."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer
from db.repositories import customers as customers_repo
from services import errors

T = TypeVar("T")


async def owned(lookup: Awaitable[T | None], what: str) -> T:
    """The resource an account-scoped ``lookup`` found, or 404 ``No <what>.``"""
    found = await lookup
    if found is None:
        raise errors.NotFound(f"No {what}.")
    return found


async def own_customer(session: AsyncSession, account_id: str, customer_id: str) -> Customer:
    """The account's customer, or 404 ``No customer <id>.``: another account's is unknown."""
    return await owned(
        customers_repo.get_customer(session, customer_id, account_id), f"customer {customer_id}"
    )
