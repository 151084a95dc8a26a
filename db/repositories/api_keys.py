"""API keys: stored as hashes only, found by hash, seeded for dev.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ApiKey,
)
from db.repositories.writes import insert_once


async def add_api_key(
    session: AsyncSession, *, key_id: str, account_id: str, role: str, key_hash: str, label: str
) -> None:
    """Issue a key; a hash that is already taken raises IntegrityError rather than share a key."""
    session.add(
        ApiKey(
            id=key_id,
            account_id=account_id,
            role=role,
            key_hash=key_hash,
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    await session.flush()


async def ensure_api_key(
    session: AsyncSession, *, key_id: str, account_id: str, role: str, key_hash: str, label: str
) -> None:
    """Insert the key unless one with that hash exists (idempotent seeding)."""
    if await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)):
        return
    await insert_once(
        session,
        ApiKey,
        {
            "id": key_id,
            "account_id": account_id,
            "role": role,
            "key_hash": key_hash,
            "label": label,
            "created_at": datetime.now(UTC),
        },
    )


async def find_active_api_key(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    return result


async def any_api_key_with_hash(session: AsyncSession, hashes: Collection[str]) -> bool:
    """Whether any of these keys still opens the door; a revoked key does not count."""
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.key_hash.in_(list(hashes)), ApiKey.revoked_at.is_(None))
    )
    return found is not None
