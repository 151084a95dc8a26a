"""Invoices: unique per (subscription, period start), so a billing cycle run twice finds its
invoice instead of charging a second one; status moves only along allowed transitions.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice
from db.repositories.paging import account_page, all_newest_first, get_owned
from db.repositories.writes import insert_once, update_rows

InvoiceStatus = Literal["open", "paid", "void", "uncollectible"]


_INVOICE_STATUSES_FROM: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "paid": ("open", "paid", "uncollectible"),
    "void": ("open", "void", "uncollectible"),
    "uncollectible": ("open", "uncollectible"),
}
"""For each status an invoice may be set to, the statuses it may be set from. ``paid`` and
``void`` are final; an ``uncollectible`` invoice can still be paid late (a new card) or voided."""


async def create_invoice(session: AsyncSession, values: Mapping[str, Any]) -> tuple[Invoice, bool]:
    """Insert the period's invoice once; the bool says whether this call created it.

    On a repeat for the same (subscription, period start) the stored invoice is returned unchanged,
    whatever this call's values say: the first invoice of a period is the one that gets charged.
    """
    created = await insert_once(session, Invoice, values)
    stored: Invoice | None = await session.scalar(
        select(Invoice).where(
            Invoice.subscription_id == values["subscription_id"],
            Invoice.period_start == values["period_start"],
        )
    )
    if stored is None:
        raise ValueError(f"invoice id {values['id']!r} is already used by another period")
    return stored, created


async def update_invoice(
    session: AsyncSession,
    invoice_id: str,
    *,
    status: InvoiceStatus,
    amount_paid: int,
    attempt_count: int,
    next_payment_attempt: datetime | None,
    payment_id: str | None,
    updated_at: datetime,
) -> bool:
    """Record the outcome of a payment attempt; False when the write would go backwards.

    Refused (and a no-op): leaving a final status (see ``_INVOICE_STATUSES_FROM``), or a lower
    ``attempt_count`` than stored, which is how a late retry of an older write shows itself.
    """
    moving = (
        update(Invoice)
        .where(
            Invoice.id == invoice_id,
            Invoice.status.in_(_INVOICE_STATUSES_FROM[status]),
            Invoice.attempt_count <= attempt_count,
        )
        .values(
            status=status,
            amount_paid=amount_paid,
            attempt_count=attempt_count,
            next_payment_attempt=next_payment_attempt,
            payment_id=payment_id,
            updated_at=updated_at,
        )
    )
    return bool(await update_rows(session, moving))


async def get_invoice(
    session: AsyncSession, invoice_id: str, account_id: str | None = None
) -> Invoice | None:
    return await get_owned(session, Invoice, invoice_id, account_id)


async def list_invoices(
    session: AsyncSession,
    *,
    account_id: str,
    subscription_id: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Invoice], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    return await account_page(
        session,
        Invoice,
        account_id=account_id,
        equal=[(Invoice.subscription_id, subscription_id)],
        limit=limit,
        starting_after=starting_after,
    )


async def invoices_of_customer(session: AsyncSession, customer_id: str) -> list[Invoice]:
    """Every invoice of the customer, newest first (an export: no paging)."""
    return await all_newest_first(
        session, select(Invoice).where(Invoice.customer_id == customer_id), Invoice
    )
