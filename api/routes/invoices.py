"""Invoices of the caller's subscriptions. Read-only: only the subscription workflows write them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page
from api.schemas.invoices import InvoiceOut
from services import errors, invoices

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.get("")
async def list_invoices(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    subscription_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> Page[InvoiceOut]:
    rows, has_more = await invoices.list_invoices(
        runtime.database,
        principal.account_id,
        subscription_id=subscription_id,
        limit=limit,
        starting_after=starting_after,
    )
    return Page[InvoiceOut](
        data=[InvoiceOut.model_validate(row) for row in rows], has_more=has_more
    )


@router.get("/{invoice_id}", responses=problems(errors.NotFound))
async def get_invoice(invoice_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> InvoiceOut:
    """Another account's invoice is a 404 like a missing one: its existence is not disclosed."""
    return InvoiceOut.model_validate(
        await invoices.get_invoice(runtime.database, principal.account_id, invoice_id)
    )
