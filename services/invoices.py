"""Invoices of the caller's subscriptions. Read-only: only the subscription workflows write them."""

from __future__ import annotations

from db.models import Invoice
from db.repositories import invoices as invoices_repo
from services.database import Database
from services.ownership import owned


async def list_invoices(
    database: Database,
    account_id: str,
    *,
    subscription_id: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Invoice], bool]:
    """A page of the account's invoices, newest first, and whether more follow."""
    async with database.reading() as session:
        return await invoices_repo.list_invoices(
            session,
            account_id=account_id,
            subscription_id=subscription_id,
            limit=limit,
            starting_after=starting_after,
        )


async def get_invoice(database: Database, account_id: str, invoice_id: str) -> Invoice:
    """Another account's invoice is a 404 like a missing one: its existence is not disclosed."""
    async with database.reading() as session:
        return await owned(
            invoices_repo.get_invoice(session, invoice_id, account_id), f"invoice {invoice_id}"
        )
