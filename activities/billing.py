"""Activities a subscription needs from the database: invoices, its projection, and where to
charge. Every write is idempotent (invoices are unique per period, the projection is versioned),
so Temporal may repeat any of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.customer_mail import CustomerMail, MailDraft
from activities.projections import invoice_values, subscription_values
from activities.webhooks_out import events as webhook_events
from activities.webhooks_out.dispatch import dispatch_committed
from contracts.billing import (
    ChargeTarget,
    ChargeTargetRequest,
    DunningCaseClosing,
    DunningCaseOpening,
    InvoiceDraft,
    InvoiceRecord,
    InvoiceStatus,
    InvoiceUpdate,
)
from contracts.providers import ProviderName
from contracts.subscriptions import SubscriptionView
from db.repositories import customers as customers_repo
from db.repositories import dunning as dunning_repo
from db.repositories import invoice_numbers as invoice_numbers_repo
from db.repositories import invoices as invoices_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import subscriptions as subscriptions_repo


class BillingActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], mail: CustomerMail | None = None
    ) -> None:
        """``mail`` mails invoices and their receipts; without it (tests of billing alone) the
        invoices are still numbered, and nobody is mailed."""
        self._sessions = sessions
        self._mail = mail

    @activity.defn(name="open_invoice")
    async def open_invoice(self, draft: InvoiceDraft) -> InvoiceRecord:
        """Open the period's invoice, or find the one a crashed earlier attempt opened.

        The invoice gets its number and its mail in the transaction that opens it: a number is
        never taken by an invoice that does not exist, and the mail exists exactly when the
        invoice does. Its PDF is laid out, and the mail handed to SMTP, after the commit.
        """
        mail = None
        async with self._sessions() as session, session.begin():
            stored, _ = await invoices_repo.create_invoice(session, invoice_values(draft))
            await invoice_numbers_repo.number_invoice(session, stored)
            if self._mail is not None:
                mail = await self._mail.invoice_opened(session, stored)
            record = InvoiceRecord(
                id=stored.id,
                amount_due=stored.amount_due,
                currency=stored.currency,
                status=InvoiceStatus(stored.status),
                period_start=stored.period_start,
                period_end=stored.period_end,
            )
        await self._send(mail)
        return record

    @activity.defn(name="update_invoice")
    async def update_invoice(self, update: InvoiceUpdate) -> None:
        """Record an attempt's outcome and its merchant event in one transaction; an invoice
        that becomes paid has its receipt mailed."""
        mail = None
        async with self._sessions() as session, session.begin():
            stored = await invoices_repo.get_invoice(session, update.invoice_id)
            before = (stored.status, stored.attempt_count) if stored is not None else None
            moved = await invoices_repo.update_invoice(
                session,
                update.invoice_id,
                status=update.status.value,
                amount_paid=update.amount_paid,
                attempt_count=update.attempt_count,
                next_payment_attempt=update.next_payment_attempt,
                payment_id=update.payment_id,
                updated_at=update.updated_at,
            )
            raised = await webhook_events.invoice_events(session, update.invoice_id, before)
            if moved and update.status is InvoiceStatus.PAID and self._mail is not None:
                paid = await invoices_repo.get_invoice(session, update.invoice_id)
                if paid is not None and paid.number is not None:
                    mail = await self._mail.invoice_paid(session, paid)
        await dispatch_committed(self._sessions, raised)
        await self._send(mail)

    async def _send(self, mail: MailDraft | None) -> None:
        if self._mail is not None:
            await self._mail.send(mail)

    @activity.defn(name="record_subscription")
    async def record_subscription(self, view: SubscriptionView) -> None:
        """The projection, and a merchant event when its status changed, in one transaction."""
        raised: list[str] = []
        async with self._sessions() as session, session.begin():
            stored = await subscriptions_repo.get_subscription(session, view.id)
            previous_status = stored.status if stored is not None else None
            if await subscriptions_repo.save_subscription_snapshot(
                session, subscription_values(view)
            ):
                raised = await webhook_events.subscription_events(session, view, previous_status)
        await dispatch_committed(self._sessions, raised)

    @activity.defn(name="open_dunning_case")
    async def open_dunning_case(self, opening: DunningCaseOpening) -> None:
        """Open the invoice's case once; a retry (or a case closed since) is left as it is."""
        async with self._sessions() as session, session.begin():
            await dunning_repo.open_dunning_case(
                session,
                invoice_id=opening.invoice.id,
                subscription_id=opening.payer.subscription_id,
                customer_id=opening.payer.customer_id,
                account_id=opening.payer.account_id,
                amount=opening.invoice.amount_due,
                currency=opening.invoice.currency,
                opened_at=opening.opened_at,
            )

    @activity.defn(name="close_dunning_case")
    async def close_dunning_case(self, closing: DunningCaseClosing) -> None:
        """Close the case with its outcome; the first close stands if Temporal repeats this."""
        async with self._sessions() as session, session.begin():
            await dunning_repo.close_dunning_case(
                session,
                closing.invoice_id,
                "recovered" if closing.recovered else "lost",
                closing.closed_at,
            )

    @activity.defn(name="charge_target")
    async def charge_target(self, request: ChargeTargetRequest) -> ChargeTarget | None:
        """The saved method an invoice is charged to: the one named, else the customer's
        default; ``None`` when the customer has no usable method."""
        async with self._sessions() as session:
            customer = await customers_repo.get_customer(session, request.customer_id)
            methods = await payment_methods_repo.list_payment_methods(session, request.customer_id)
        chosen = next(
            (
                method
                for method in methods
                if method.id == request.payment_method_id
                or (request.payment_method_id is None and method.is_default)
            ),
            None,
        )
        if customer is None or chosen is None:
            return None
        provider = ProviderName(chosen.provider)
        return ChargeTarget(
            payment_method_id=chosen.id,
            provider=provider,
            provider_customer_ref=customer.reference_at(provider),
            payment_method_ref=chosen.provider_token,
        )
