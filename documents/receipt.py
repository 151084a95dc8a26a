"""A receipt for a payment: what was paid, when, with which method. The same template is the
page ``GET /v1/payments/{id}/receipt`` answers and, laid out by WeasyPrint, its PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from documents.render import html_to_pdf, render_html


@dataclass(frozen=True)
class ReceiptDocument:
    payment_id: str
    merchant_name: str
    customer_name: str | None
    customer_email: str | None
    amount: int
    amount_refunded: int
    currency: str
    paid_at: datetime
    """When the payment was made (its creation): the same on the mailed receipt and on any read
    later, whatever refunds have happened since."""
    description: str | None
    payment_method: str | None
    """``visa •••• 4242``, or the provider's name when the method has no card details."""
    invoice_number: str | None = None


def receipt_filename(receipt: ReceiptDocument) -> str:
    return f"receipt-{receipt.payment_id}.pdf"


def receipt_html(receipt: ReceiptDocument) -> str:
    return render_html("receipt.html", receipt=receipt)


def receipt_pdf(receipt: ReceiptDocument) -> bytes:
    return html_to_pdf(receipt_html(receipt))
