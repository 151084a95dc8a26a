"""Invoice PDFs and payment receipts for the API: the same documents the worker mails.

Rows are read in a short session; the rendering (WeasyPrint, a few hundred milliseconds of CPU)
runs in a worker thread after the session is closed, so neither a pooled connection nor the event
loop waits on it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from db.repositories import invoices as invoices_repo
from db.repositories import payments as payments_repo
from documents.invoice import invoice_filename, invoice_pdf
from documents.loading import invoice_document, receipt_document
from documents.receipt import receipt_filename, receipt_html, receipt_pdf
from services import errors
from services.ownership import owned
from services.runtime import Runtime

RECEIPT_STATUSES = frozenset({"succeeded"})
"""A receipt says money was taken: only a succeeded payment has one."""


@dataclass(frozen=True)
class RenderedDocument:
    filename: str
    media_type: str
    content: bytes


async def invoice_file(runtime: Runtime, account_id: str, invoice_id: str) -> RenderedDocument:
    """The invoice's PDF; one opened before invoices were numbered has none (409)."""
    async with runtime.database.reading() as session:
        invoice = await owned(
            invoices_repo.get_invoice(session, invoice_id, account_id), f"invoice {invoice_id}"
        )
        if invoice.number is None:
            raise errors.InvalidState(f"Invoice {invoice_id} was opened before invoice numbers.")
        document = await invoice_document(session, invoice, runtime.settings.merchant_name)
    content = await asyncio.to_thread(invoice_pdf, document)
    return RenderedDocument(invoice_filename(document), "application/pdf", content)


async def receipt_file(
    runtime: Runtime, account_id: str, payment_id: str, file_format: Literal["html", "pdf"]
) -> RenderedDocument:
    """The receipt of a succeeded payment, as a page or a PDF; any other payment is a 409."""
    async with runtime.database.reading() as session:
        payment = await owned(
            payments_repo.get_payment(session, payment_id, account_id), f"payment {payment_id}"
        )
        if payment.status not in RECEIPT_STATUSES:
            raise errors.InvalidState(
                f"Payment {payment_id} is {payment.status}: only a succeeded payment has a receipt."
            )
        document = await receipt_document(session, payment, runtime.settings.merchant_name)
    if file_format == "html":
        return RenderedDocument("", "text/html; charset=utf-8", receipt_html(document).encode())
    content = await asyncio.to_thread(receipt_pdf, document)
    return RenderedDocument(receipt_filename(document), "application/pdf", content)
