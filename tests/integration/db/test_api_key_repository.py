"""API keys on both backends: a rolled key stops at its ``expires_at`` to the microsecond, another
account's key is not found, and ``last_used_at`` is written at most once a minute."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ApiKey
from db.repositories import api_keys as api_keys_repo

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def add(sessions: Sessions, key_id: str, account_id: str = "acct_1") -> None:
    async with sessions() as session, session.begin():
        await api_keys_repo.add_api_key(
            session,
            key_id=key_id,
            account_id=account_id,
            role="client",
            key_hash=key_id.ljust(64, "0"),
            name="n",
            created_at=T0,
        )


async def test_an_expiring_key_works_until_its_expiry_and_not_after(sessions: Sessions) -> None:
    await add(sessions, "key_a")
    expiry = T0 + timedelta(hours=1)
    async with sessions() as session, session.begin():
        key = await api_keys_repo.get_usable_api_key(session, "key_a", "acct_1", T0)
        assert key is not None
        await api_keys_repo.expire_api_key(session, key, expiry)
        await api_keys_repo.expire_api_key(session, key, expiry + timedelta(days=1))
    just_before, at_expiry = expiry - timedelta(microseconds=1), expiry
    async with sessions() as session:
        key_hash = "key_a".ljust(64, "0")
        assert await api_keys_repo.find_active_api_key(session, key_hash, just_before) is not None
        assert await api_keys_repo.find_active_api_key(session, key_hash, at_expiry) is None
        page, _ = await api_keys_repo.list_usable_api_keys(
            session, "acct_1", at_expiry, limit=10, starting_after=None
        )
        assert page == []
        stored = await session.scalar(select(ApiKey.expires_at).where(ApiKey.id == "key_a"))
        assert stored == expiry, "a later roll must not extend an earlier expiry"


async def test_keys_are_listed_per_account_newest_first(sessions: Sessions) -> None:
    for key_id in ("key_1", "key_2", "key_3"):
        await add(sessions, key_id)
    await add(sessions, "key_x", account_id="acct_2")
    async with sessions() as session:
        first, more = await api_keys_repo.list_usable_api_keys(
            session, "acct_1", T0, limit=2, starting_after=None
        )
        rest, no_more = await api_keys_repo.list_usable_api_keys(
            session, "acct_1", T0, limit=2, starting_after=first[-1].id
        )
        everyone, _ = await api_keys_repo.list_usable_api_keys(
            session, None, T0, limit=10, starting_after=None
        )
        theirs = await api_keys_repo.get_usable_api_key(session, "key_x", "acct_1", T0)
    assert ([k.id for k in first], more) == (["key_3", "key_2"], True)
    assert ([k.id for k in rest], no_more) == (["key_1"], False)
    assert {k.id for k in everyone} == {"key_1", "key_2", "key_3", "key_x"}
    assert theirs is None


async def test_the_last_use_is_written_only_when_the_recorded_one_is_stale(
    sessions: Sessions,
) -> None:
    await add(sessions, "key_a")

    async def use(at: datetime) -> datetime | None:
        """A request at ``at``: writes unless the recorded use is under a minute old."""
        async with sessions() as session, session.begin():
            await api_keys_repo.record_use(
                session, "key_a", at, unless_after=at - timedelta(minutes=1)
            )
        async with sessions() as session:
            return await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == "key_a"))

    racing = [T0 + timedelta(milliseconds=ms) for ms in range(5)]
    await asyncio.gather(*(use(at) for at in racing))
    assert await use(T0 + timedelta(seconds=59)) in racing
    assert await use(T0 + timedelta(minutes=2)) == T0 + timedelta(minutes=2)
