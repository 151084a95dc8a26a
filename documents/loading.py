"""The documents of stored rows: what the API's services and the worker's activities both read
from the database before rendering, so an invoice mailed and one downloaded say the same."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, Payment
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from documents.invoice import DocumentLine, InvoiceDocument
from documents.receipt import ReceiptDocument


async def invoice_document(
    session: AsyncSession, invoice: Invoice, merchant_name: str
) -> InvoiceDocument:
    """The invoice as the customer reads it; an invoice not yet numbered is refused."""
    if invoice.number is None:
        raise ValueError(f"invoice {invoice.id} has no number yet")
    customer = await customers_repo.get_customer(session, invoice.customer_id)
    return InvoiceDocument(
        number=invoice.number,
        invoice_id=invoice.id,
        status=invoice.status,
        issued_at=invoice.created_at,
        merchant_name=merchant_name,
        customer_id=invoice.customer_id,
        customer_name=customer.name if customer else None,
        customer_email=customer.email if customer else None,
        currency=invoice.currency,
        lines=[_line(line, invoice) for line in invoice.lines],
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        next_payment_attempt=invoice.next_payment_attempt,
    )


def _line(line: dict[str, Any], invoice: Invoice) -> DocumentLine:
    """A stored line (JSON, periods as ISO 8601 strings); without a period, the invoice's."""
    start, end = line.get("period_start"), line.get("period_end")
    return DocumentLine(
        description=str(line["description"]),
        amount=int(line["amount"]),
        period_start=datetime.fromisoformat(start) if start else invoice.period_start,
        period_end=datetime.fromisoformat(end) if end else invoice.period_end,
    )


async def receipt_document(
    session: AsyncSession, payment: Payment, merchant_name: str
) -> ReceiptDocument:
    customer = await customers_repo.get_customer(session, payment.customer_id)
    method = (
        await payment_methods_repo.get_payment_method(session, payment.payment_method_id)
        if payment.payment_method_id
        else None
    )
    if method is not None and method.last4:
        paid_with: str | None = f"{method.brand or 'card'} •••• {method.last4}"
    else:
        paid_with = payment.provider.capitalize() if payment.provider else None
    return ReceiptDocument(
        payment_id=payment.id,
        merchant_name=merchant_name,
        customer_name=customer.name if customer else None,
        customer_email=customer.email if customer else None,
        amount=payment.amount_captured or payment.amount,
        amount_refunded=payment.amount_refunded,
        currency=payment.currency,
        paid_at=payment.created_at,
        description=payment.description,
        payment_method=paid_with,
    )
