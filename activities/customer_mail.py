"""The mails a customer gets about their money: an invoice when it opens (its PDF attached), a
receipt when it is paid, and the receipt of a one-off payment they asked for one for.

Each is recorded in the outbox inside the transaction of the change it reports, keyed by that
change (``<invoice id>:opened``, ``<invoice id>:paid``, ``<payment id>:receipt``), so a retried or
replayed activity finds the key and mails nothing twice; the activity hands the mail to SMTP
after its transaction commits (``Outbox.try_deliver``). The recipient is the customer's address
in the database at that moment: no address travels in a workflow payload. An erased customer (no
address) gets no mail. The PDF is laid out in a thread, so the worker's event loop (and every
other activity on it) does not wait on WeasyPrint.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from activities.notify import render_mail
from activities.outbox import Outbox
from db.models import Invoice, Payment
from db.repositories import customers as customers_repo
from db.repositories import mail as mail_repo
from documents.invoice import invoice_filename, invoice_pdf
from documents.loading import invoice_document, receipt_document
from documents.receipt import receipt_filename, receipt_pdf

PDF = "application/pdf"


class CustomerMailTemplate(StrEnum):
    """Template pairs under ``templates/mail/``, like the dunning ``MailTemplate``s; these never
    cross a workflow boundary (activities record them), so they are not part of the contract."""

    INVOICE_OPENED = "invoice_opened"
    INVOICE_PAID = "invoice_paid"
    PAYMENT_RECEIPT = "payment_receipt"


@dataclass(frozen=True)
class CustomerMail:
    outbox: Outbox
    merchant_name: str

    async def invoice_opened(self, session: AsyncSession, invoice: Invoice) -> str | None:
        """Record the mail of a newly opened invoice; its outbox key, or None (no address)."""
        opened = CustomerMailTemplate.INVOICE_OPENED
        return await self._invoice_mail(session, invoice, opened, "opened")

    async def invoice_paid(self, session: AsyncSession, invoice: Invoice) -> str | None:
        return await self._invoice_mail(session, invoice, CustomerMailTemplate.INVOICE_PAID, "paid")

    async def payment_receipt(self, session: AsyncSession, payment: Payment) -> str | None:
        key = f"{payment.id}:receipt"
        address = await self._address(session, payment.customer_id)
        if address is None or await mail_repo.get_mail(session, key) is not None:
            return key if address is not None else None
        receipt = await receipt_document(session, payment, self.merchant_name)
        subject, body = render_mail(
            CustomerMailTemplate.PAYMENT_RECEIPT,
            {
                "merchant_name": self.merchant_name,
                "payment_id": payment.id,
                "amount": str(receipt.amount),
                "currency": payment.currency,
            },
        )
        await mail_repo.enqueue_mail(
            session,
            key=key,
            to_address=address,
            template=CustomerMailTemplate.PAYMENT_RECEIPT.value,
            subject=subject,
            body=body,
            attachments=[
                mail_repo.Attachment(
                    receipt_filename(receipt), PDF, await asyncio.to_thread(receipt_pdf, receipt)
                )
            ],
            created_at=datetime.now(UTC),
        )
        return key

    async def _invoice_mail(
        self, session: AsyncSession, invoice: Invoice, template: CustomerMailTemplate, event: str
    ) -> str | None:
        key = f"{invoice.id}:{event}"
        address = await self._address(session, invoice.customer_id)
        if address is None or await mail_repo.get_mail(session, key) is not None:
            return key if address is not None else None
        document = await invoice_document(session, invoice, self.merchant_name)
        subject, body = render_mail(
            template,
            {
                "merchant_name": self.merchant_name,
                "number": document.number,
                "amount": str(invoice.amount_due),
                "currency": invoice.currency,
            },
        )
        await mail_repo.enqueue_mail(
            session,
            key=key,
            to_address=address,
            template=template.value,
            subject=subject,
            body=body,
            attachments=[
                mail_repo.Attachment(
                    invoice_filename(document), PDF, await asyncio.to_thread(invoice_pdf, document)
                )
            ],
            created_at=datetime.now(UTC),
        )
        return key

    @staticmethod
    async def _address(session: AsyncSession, customer_id: str) -> str | None:
        customer = await customers_repo.get_customer(session, customer_id)
        return customer.email if customer is not None else None
