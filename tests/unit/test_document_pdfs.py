"""Invoice PDFs laid out at the same time in several threads, as the worker lays out mail
attachments (``asyncio.to_thread``): each thread keeps its own font configuration
(``documents.render``), and every PDF reads as its own invoice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from documents.invoice import DocumentLine, InvoiceDocument, invoice_pdf
from tests.support.documents import pdf_text


def _invoice(number: int) -> InvoiceDocument:
    return InvoiceDocument(
        number=f"INV-{number:04d}",
        invoice_id=f"in_{number}",
        status="open",
        issued_at=datetime(2026, 12, 1, tzinfo=UTC),
        merchant_name="Acme",
        customer_id=f"cus_{number}",
        customer_name=None,
        customer_email=None,
        currency="USD",
        lines=[DocumentLine("Pro monthly", 1000 + number)],
        amount_due=1000 + number,
        amount_paid=0,
    )


def test_invoices_laid_out_at_once_in_several_threads_each_read_as_their_own() -> None:
    numbers = range(1, 13)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda number: invoice_pdf(_invoice(number)), numbers))
    for number, pdf in zip(numbers, pdfs, strict=True):
        text = pdf_text(pdf)
        assert f"INV-{number:04d}" in text
        assert f"10.{number:02d} USD" in text
        other = number % 12 + 1
        assert f"INV-{other:04d}" not in text
