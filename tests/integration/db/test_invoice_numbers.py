"""Invoice numbers: gapless per account and year, under concurrent openings, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Invoice
from db.repositories import invoice_numbers as invoice_numbers_repo
from db.repositories import invoices as invoices_repo

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONCURRENT_OPENINGS = 12


def invoice_row(invoice_id: str, account_id: str, created_at: datetime) -> dict[str, object]:
    return {
        "id": invoice_id,
        "subscription_id": f"sub_{invoice_id}",
        "customer_id": "cus_numbers",
        "account_id": account_id,
        "amount_due": 2900,
        "amount_paid": 0,
        "currency": "USD",
        "status": "open",
        "lines": [{"description": "Pro (monthly)", "amount": 2900}],
        "period_start": created_at,
        "period_end": created_at + timedelta(days=31),
        "attempt_count": 0,
        "next_payment_attempt": None,
        "payment_id": None,
        "number": None,
        "created_at": created_at,
        "updated_at": created_at,
    }


async def open_numbered(
    sessions: async_sessionmaker[AsyncSession],
    invoice_id: str,
    account_id: str = "acct_numbers",
    created_at: datetime = T0,
) -> str:
    """What the ``open_invoice`` activity does: create and number in one transaction."""
    async with sessions() as session, session.begin():
        stored, _ = await invoices_repo.create_invoice(
            session, invoice_row(invoice_id, account_id, created_at)
        )
        return await invoice_numbers_repo.number_invoice(session, stored)


async def test_concurrent_openings_take_every_number_once_in_sequence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    numbers = await asyncio.gather(
        *(open_numbered(sessions, f"in_race_{n}") for n in range(CONCURRENT_OPENINGS))
    )
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, CONCURRENT_OPENINGS + 1)]
    async with sessions() as session:
        stored = await session.scalars(select(Invoice.number).where(Invoice.id.like("in_race_%")))
        assert set(stored) == set(numbers)


async def test_an_opening_that_rolls_back_leaves_no_gap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await open_numbered(sessions, "in_first") == "INV-2026-000001"
    async with sessions() as session, session.begin():
        await invoice_numbers_repo.next_invoice_number(session, "acct_numbers", 2026)
        await session.rollback()
    assert await open_numbered(sessions, "in_second") == "INV-2026-000002"


async def test_a_repeated_opening_keeps_its_number(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await open_numbered(sessions, "in_repeat")
    assert await open_numbered(sessions, "in_repeat") == first == "INV-2026-000001"
    assert await open_numbered(sessions, "in_next") == "INV-2026-000002"


async def test_each_account_and_year_has_its_own_series(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await open_numbered(sessions, "in_a1", "acct_a") == "INV-2026-000001"
    assert await open_numbered(sessions, "in_b1", "acct_b") == "INV-2026-000001"
    assert await open_numbered(sessions, "in_a2", "acct_a") == "INV-2026-000002"
    next_year = T0.replace(year=2027)
    assert await open_numbered(sessions, "in_a3", "acct_a", next_year) == "INV-2027-000001"
