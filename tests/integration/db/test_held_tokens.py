"""Card tokens held for their save-card workflow, on SQLite and PostgreSQL: held once, the
provider's reference kept through a repeated save, gone once recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import held_tokens

Sessions = async_sessionmaker[AsyncSession]


async def test_a_held_token_keeps_its_reference_through_a_repeated_save(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        await held_tokens.hold(session, "pm_1", "tok_1", datetime.now(UTC))
        await held_tokens.set_reference(session, "pm_1", "vault_1")
    async with sessions() as session, session.begin():
        await held_tokens.hold(session, "pm_1", "tok_1", datetime.now(UTC))
    async with sessions() as session:
        held = await held_tokens.get(session, "pm_1")
    assert held is not None
    assert (held.token, held.reference) == ("tok_1", "vault_1")


async def test_a_released_token_is_gone(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await held_tokens.hold(session, "pm_2", "tok_2", datetime.now(UTC))
    async with sessions() as session, session.begin():
        await held_tokens.release(session, "pm_2")
    async with sessions() as session:
        assert await held_tokens.get(session, "pm_2") is None
