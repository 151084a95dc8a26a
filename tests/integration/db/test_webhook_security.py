"""The edge's tables on SQLite and PostgreSQL: a PayPal transmission id stays bound to its first
event, and an API key stored under the legacy hash moves to the keyed one once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ApiKey
from db.repositories import api_keys as api_keys_repo
from db.repositories.webhook_security import bind_transmission

Sessions = async_sessionmaker[AsyncSession]


async def test_a_transmission_stays_bound_to_its_first_event(sessions: Sessions) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        assert await bind_transmission(session, "tx-1", "WH-A", now) == "WH-A"
    async with sessions() as session, session.begin():
        assert await bind_transmission(session, "tx-1", "WH-A", now) == "WH-A"
        assert await bind_transmission(session, "tx-1", "WH-B", now) == "WH-A"
        assert await bind_transmission(session, "tx-2", "WH-B", now) == "WH-B"


async def test_a_legacy_hash_is_moved_to_the_keyed_one_once(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(
            ApiKey(
                id="key_legacy",
                account_id="acct_x",
                role="client",
                key_hash="a" * 64,
                hash_scheme=api_keys_repo.SHA256_SCHEME,
                name="old",
                created_at=datetime.now(UTC),
            )
        )
    for _ in range(2):
        async with sessions() as session, session.begin():
            await api_keys_repo.rehash_api_key(session, "key_legacy", "a" * 64, "b" * 64)
    async with sessions() as session:
        legacy = await api_keys_repo.find_active_api_key(
            session, "a" * 64, scheme=api_keys_repo.SHA256_SCHEME
        )
        keyed = await api_keys_repo.find_active_api_key(session, "b" * 64)
    assert legacy is None
    assert keyed is not None and keyed.id == "key_legacy"
