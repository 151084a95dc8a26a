"""Invoice numbers: ``INV-<year>-<000001>``, gapless per account and year.

The counter row is incremented by one ``UPDATE … RETURNING`` inside the caller's transaction,
the one that also writes the number on the invoice. A second opening for the same account waits
on that row (PostgreSQL's row lock; SQLite's single writer) until the first commits, then reads
the committed value, so no two invoices share a number; an opening that rolls back takes its
increment with it, so no number is skipped.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, InvoiceNumberCounter
from db.repositories.writes import insert_once, update_rows

NUMBER_DIGITS = 6


def format_invoice_number(year: int, sequence: int) -> str:
    """``INV-2026-000001``; a series that outgrows six digits keeps counting with more."""
    return f"INV-{year:04d}-{sequence:0{NUMBER_DIGITS}d}"


async def next_invoice_number(session: AsyncSession, account_id: str, year: int) -> str:
    """Take the next number of the account's series for ``year``."""
    await insert_once(
        session,
        InvoiceNumberCounter,
        {"account_id": account_id, "year": year, "last_number": 0},
    )
    taken = await session.scalar(
        update(InvoiceNumberCounter)
        .where(InvoiceNumberCounter.account_id == account_id, InvoiceNumberCounter.year == year)
        .values(last_number=InvoiceNumberCounter.last_number + 1)
        .returning(InvoiceNumberCounter.last_number)
    )
    assert taken is not None, "the counter row was inserted or found just above"
    return format_invoice_number(year, taken)


async def number_invoice(session: AsyncSession, invoice: Invoice) -> str:
    """Give ``invoice`` its number, once: an invoice already numbered keeps its number."""
    if invoice.number is not None:
        return invoice.number
    number = await next_invoice_number(session, invoice.account_id, invoice.created_at.year)
    await update_rows(
        session,
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.number.is_(None))
        .values(number=number),
    )
    invoice.number = number
    return number
