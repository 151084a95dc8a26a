"""API keys: stored as hashes only, found by hash, listed per account, rolled, revoked.

A key is *usable* while it is neither revoked nor past its ``expires_at`` (set when it is rolled).
Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiKey
from db.repositories.paging import get_owned, newest_first
from db.repositories.writes import insert_once

HMAC_SCHEME = "hmac-sha256"
SHA256_SCHEME = "sha256"


def _usable(at: datetime) -> ColumnElement[bool]:
    return ApiKey.revoked_at.is_(None) & or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > at)


async def add_api_key(
    session: AsyncSession,
    *,
    key_id: str,
    account_id: str,
    role: str,
    key_hash: str,
    name: str,
    created_at: datetime | None = None,
) -> ApiKey:
    """Issue a key; a hash that is already taken raises IntegrityError rather than share a key."""
    key = ApiKey(
        id=key_id,
        account_id=account_id,
        role=role,
        key_hash=key_hash,
        name=name,
        created_at=created_at or datetime.now(UTC),
    )
    session.add(key)
    await session.flush()
    return key


async def ensure_api_key(
    session: AsyncSession, *, key_id: str, account_id: str, role: str, key_hash: str, name: str
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
            "name": name,
            "created_at": datetime.now(UTC),
        },
    )


async def find_active_api_key(
    session: AsyncSession, key_hash: str, at: datetime | None = None, *, scheme: str = HMAC_SCHEME
) -> ApiKey | None:
    """The usable key with this hash (stored under ``scheme``) at ``at`` (now by default)."""
    result: ApiKey | None = await session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == key_hash,
            ApiKey.hash_scheme == scheme,
            _usable(at or datetime.now(UTC)),
        )
    )
    return result


async def rehash_api_key(session: AsyncSession, key_id: str, old_hash: str, new_hash: str) -> None:
    """Move a key from the legacy hash to the keyed one; a concurrent request that moved it
    first makes this a no-op."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            ApiKey.key_hash == old_hash,
            ApiKey.hash_scheme == SHA256_SCHEME,
        )
        .values(key_hash=new_hash, hash_scheme=HMAC_SCHEME)
    )


async def any_api_key_with_hash(session: AsyncSession, hashes: Collection[str]) -> bool:
    """Whether any of these keys still opens the door; a revoked or expired key does not count."""
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.key_hash.in_(list(hashes)), _usable(datetime.now(UTC)))
    )
    return found is not None


async def get_usable_api_key(
    session: AsyncSession, key_id: str, account_id: str | None, at: datetime
) -> ApiKey | None:
    """The key with this id if it is usable at ``at``; with ``account_id``, only that account's."""
    return await get_owned(session, ApiKey, key_id, account_id, _usable(at))


async def list_usable_api_keys(
    session: AsyncSession,
    account_id: str | None,
    at: datetime,
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[ApiKey], bool]:
    """One page of the keys usable at ``at``, newest first, and whether more follow; without
    ``account_id``, every account's (the ``durapay`` command)."""
    query = select(ApiKey).where(_usable(at))
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    return await newest_first(
        session, query, ApiKey, account_id=account_id, limit=limit, starting_after=starting_after
    )


async def expire_api_key(session: AsyncSession, key: ApiKey, at: datetime) -> None:
    """Let ``key`` work until ``at`` at the latest; an earlier expiry already set stays."""
    if key.expires_at is None or at < key.expires_at:
        key.expires_at = at
    await session.flush()


async def revoke_api_key(session: AsyncSession, key: ApiKey, at: datetime) -> None:
    key.revoked_at = at
    await session.flush()


async def record_use(
    session: AsyncSession, key_id: str, at: datetime, *, unless_after: datetime
) -> None:
    """Set ``last_used_at`` unless it is already later than ``unless_after``: one conditional
    UPDATE, so concurrent requests of one key (in any number of API processes) write it once."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= unless_after),
        )
        .values(last_used_at=at)
    )
