"""Invoices of the caller's subscriptions. Read-only: only the subscription workflows write them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Page
from api.schemas.invoices import InvoiceOut
from api.views import invoice_out
from db.repositories import invoices as invoices_repo
from services import errors

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.get("")
async def list_invoices(
    session: SessionDep,
    principal: PrincipalDep,
    subscription_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> Page[InvoiceOut]:
    rows, has_more = await invoices_repo.list_invoices(
        session,
        account_id=principal.account_id,
        subscription_id=subscription_id,
        limit=limit,
        starting_after=starting_after,
    )
    return Page[InvoiceOut](data=[invoice_out(row) for row in rows], has_more=has_more)


@router.get("/{invoice_id}")
async def get_invoice(invoice_id: str, session: SessionDep, principal: PrincipalDep) -> InvoiceOut:
    """Another account's invoice is a 404 like a missing one: its existence is not disclosed."""
    invoice = await invoices_repo.get_invoice(session, invoice_id, principal.account_id)
    if invoice is None:
        raise errors.NotFound(f"No invoice {invoice_id}.")
    return invoice_out(invoice)
