"""Invoices of the caller's subscriptions. Read-only: only the subscription workflows write them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import PageQueryDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.invoices import InvoiceOut
from services import documents, errors, invoices

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.get("")
async def list_invoices(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    subscription_id: str | None = None,
) -> Page[InvoiceOut]:
    rows, has_more = await invoices.list_invoices(
        runtime.database,
        principal.account_id,
        subscription_id=subscription_id,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(InvoiceOut, rows, has_more)


@router.get("/{invoice_id}", responses=problems(errors.NotFound))
async def get_invoice(invoice_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> InvoiceOut:
    """Another account's invoice is a 404 like a missing one: its existence is not disclosed."""
    return InvoiceOut.model_validate(
        await invoices.get_invoice(runtime.database, principal.account_id, invoice_id)
    )


@router.get(
    "/{invoice_id}/pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The invoice as a PDF"},
        **problems(errors.NotFound, errors.InvalidState),
    },
)
async def get_invoice_pdf(
    invoice_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    """The invoice as its customer was mailed it: number, lines, tax, totals and status (as of
    now: a paid invoice says paid)."""
    rendered = await documents.invoice_file(runtime, principal.account_id, invoice_id)
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'inline; filename="{rendered.filename}"'},
    )
