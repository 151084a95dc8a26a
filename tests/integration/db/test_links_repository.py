"""Payment links on SQLite and PostgreSQL: one row per id, found by its token's hash only,
attempts that only move forward, and first-time-wins revoke and paid marks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import PaymentLink
from db.repositories import links as links_repo
from services.links import hash_token

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _link(link_id: str, token: str) -> PaymentLink:
    return PaymentLink(
        id=link_id,
        account_id="acct_links",
        customer_id="cus_links",
        invoice_id=None,
        amount=2500,
        currency="USD",
        description=None,
        token_hash=hash_token(token),
        request_hash="fingerprint",
        expires_at=NOW + timedelta(days=7),
        attempt=0,
        payment_id=None,
        paid_at=None,
        revoked_at=None,
        created_at=NOW,
    )


async def _read(sessions: async_sessionmaker[AsyncSession], link_id: str) -> PaymentLink:
    async with sessions() as session:
        link = await links_repo.get_link(session, link_id)
    assert link is not None
    return link


async def test_a_link_is_inserted_once_and_found_by_its_tokens_hash_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        first = await links_repo.add_link(session, _link("plink_a", "token-a"))
        again = await links_repo.add_link(session, _link("plink_a", "token-a"))

    async with sessions() as session:
        found = await links_repo.find_by_token_hash(session, hash_token("token-a"))
        near_miss = await links_repo.find_by_token_hash(session, hash_token("token-b"))
        by_token_itself = await links_repo.find_by_token_hash(session, "token-a")
    assert (first, again) == (True, False)
    assert found is not None and found.id == "plink_a"
    assert found.expires_at == NOW + timedelta(days=7)
    assert (near_miss, by_token_itself) == (None, None)


async def test_racing_attempts_move_forward_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await links_repo.add_link(session, _link("plink_b", "token-b"))

    async def start(attempt: int, payment_id: str) -> None:
        async with sessions() as session, session.begin():
            await links_repo.start_attempt(session, "plink_b", attempt, payment_id)

    await asyncio.gather(start(1, "pay_1"), start(1, "pay_1"), start(1, "pay_1"))
    await start(2, "pay_2")
    await start(1, "pay_1")  # a late request of the first attempt

    link = await _read(sessions, "plink_b")
    assert (link.attempt, link.payment_id) == (2, "pay_2")


async def test_revoked_and_paid_keep_their_first_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await links_repo.add_link(session, _link("plink_c", "token-c"))
    for later in (NOW, NOW + timedelta(hours=1)):
        async with sessions() as session, session.begin():
            await links_repo.revoke(session, "plink_c", later)
            await links_repo.mark_paid(session, "plink_c", later)

    link = await _read(sessions, "plink_c")
    assert (link.revoked_at, link.paid_at) == (NOW, NOW)
