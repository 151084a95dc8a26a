"""An invoice as its customer reads it: number, lines, tax, totals and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from documents.render import html_to_pdf, render_html

TAX_LINE_PREFIX = "Tax "
"""How the billing cycle names the tax line it adds (``workflows/policies/invoicing.with_tax``)."""


@dataclass(frozen=True)
class DocumentLine:
    description: str
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    invoice_id: str
    status: str
    issued_at: datetime
    merchant_name: str
    customer_id: str
    customer_name: str | None
    customer_email: str | None
    currency: str
    lines: list[DocumentLine]
    amount_due: int
    amount_paid: int
    next_payment_attempt: datetime | None = None

    @property
    def tax(self) -> int:
        return sum(
            line.amount for line in self.lines if line.description.startswith(TAX_LINE_PREFIX)
        )

    @property
    def subtotal(self) -> int:
        return self.amount_due - self.tax

    @property
    def amount_remaining(self) -> int:
        return 0 if self.status in ("paid", "void") else self.amount_due - self.amount_paid


def invoice_filename(invoice: InvoiceDocument) -> str:
    return f"{invoice.number}.pdf"


def invoice_pdf(invoice: InvoiceDocument) -> bytes:
    return html_to_pdf(render_html("invoice.html", invoice=invoice))
