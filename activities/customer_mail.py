"""The mails a customer gets about their money: an invoice when it opens (its PDF attached), a
receipt when it is paid, and the receipt of a one-off payment they asked for one for.

Each is recorded in the outbox inside the transaction of the change it reports, keyed by that
change (``<invoice id>:opened``, ``<invoice id>:paid``, ``<payment id>:receipt``), so a retried or
replayed activity finds the key and mails nothing twice; the activity hands the mail to SMTP
after its transaction commits (``CustomerMail.send``). The recipient is the customer's address in
the database at that moment: no address travels in a workflow payload. An erased customer (no
address) gets no mail.

The mail is recorded ``preparing``; its PDF is laid out after the commit, in a thread (neither the
database's write lock nor the worker's event loop waits on WeasyPrint), then stored with it in a
second transaction that makes the mail ``pending``. A crash between the two leaves it
``preparing``; Temporal's retry of the activity finds it so and makes the PDF again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
class MailDraft:
    """A mail recorded in the outbox, and (while it is still ``preparing``) how to make its
    attachment: laid out after the recording transaction commits, never while it holds a lock."""

    key: str
    attachment: Callable[[], mail_repo.Attachment] | None


Prepared = tuple[dict[str, str], Callable[[], mail_repo.Attachment]]
"""A mail's template context, and how to make its attachment."""


@dataclass(frozen=True)
class CustomerMail:
    outbox: Outbox
    merchant_name: str

    async def invoice_opened(self, session: AsyncSession, invoice: Invoice) -> MailDraft | None:
        """Record the mail of a newly opened invoice; None when the customer has no address."""
        opened = CustomerMailTemplate.INVOICE_OPENED
        return await self._invoice_mail(session, invoice, opened, "opened")

    async def invoice_paid(self, session: AsyncSession, invoice: Invoice) -> MailDraft | None:
        return await self._invoice_mail(session, invoice, CustomerMailTemplate.INVOICE_PAID, "paid")

    async def payment_receipt(self, session: AsyncSession, payment: Payment) -> MailDraft | None:
        async def prepare() -> Prepared:
            receipt = await receipt_document(session, payment, self.merchant_name)
            context = {
                "merchant_name": self.merchant_name,
                "payment_id": payment.id,
                "amount": str(receipt.amount),
                "currency": payment.currency,
            }
            return context, lambda: mail_repo.Attachment(
                receipt_filename(receipt), PDF, receipt_pdf(receipt)
            )

        template = CustomerMailTemplate.PAYMENT_RECEIPT
        key = f"{payment.id}:receipt"
        return await self._draft(session, key, payment.customer_id, template, prepare)

    async def send(self, draft: MailDraft | None) -> None:
        """After the recording transaction: lay out the attachment (in a thread), release the
        mail to the outbox with it, and hand it to SMTP (``Outbox.try_deliver``)."""
        if draft is None:
            return
        if draft.attachment is not None:
            attachment = await asyncio.to_thread(draft.attachment)
            await self.outbox.release(draft.key, [attachment])
        await self.outbox.try_deliver(draft.key)

    async def _invoice_mail(
        self, session: AsyncSession, invoice: Invoice, template: CustomerMailTemplate, event: str
    ) -> MailDraft | None:
        async def prepare() -> Prepared:
            document = await invoice_document(session, invoice, self.merchant_name)
            context = {
                "merchant_name": self.merchant_name,
                "number": document.number,
                "amount": str(invoice.amount_due),
                "currency": invoice.currency,
            }
            return context, lambda: mail_repo.Attachment(
                invoice_filename(document), PDF, invoice_pdf(document)
            )

        key = f"{invoice.id}:{event}"
        return await self._draft(session, key, invoice.customer_id, template, prepare)

    async def _draft(
        self,
        session: AsyncSession,
        key: str,
        customer_id: str,
        template: CustomerMailTemplate,
        prepare: Callable[[], Awaitable[Prepared]],
    ) -> MailDraft | None:
        """Record the mail ``key`` to the customer's address now, its content from ``prepare``
        (the document it reports, read only for a mail still to be made); None when the customer
        has no address."""
        address = await self._address(session, customer_id)
        if address is None:
            return None
        if not await self._to_prepare(session, key):
            return MailDraft(key, None)
        context, attachment = await prepare()
        subject, body = render_mail(template, context)
        await mail_repo.enqueue_mail(
            session,
            mail_repo.NewMail(key, address, template.value, subject, body, datetime.now(UTC)),
        )
        return MailDraft(key, attachment)

    @staticmethod
    async def _to_prepare(session: AsyncSession, key: str) -> bool:
        """True for a new mail, or one a crashed attempt recorded but never released: its
        attachment is (again) to be made."""
        recorded = await mail_repo.get_mail(session, key)
        return recorded is None or recorded.status == mail_repo.PREPARING

    @staticmethod
    async def _address(session: AsyncSession, customer_id: str) -> str | None:
        customer = await customers_repo.get_customer(session, customer_id)
        return customer.email if customer is not None else None
