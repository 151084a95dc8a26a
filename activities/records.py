"""Activities that write the database: the payment projection, its timeline, saved methods.

Every write is idempotent (versioned upserts, unique keys), so these run as local activities that
retry until the database answers, and a replayed or retried write changes nothing twice.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.customer_mail import CustomerMail
from activities.projections import payment_method_values, payment_values, refund_values
from activities.webhooks_out import events as webhook_events
from activities.webhooks_out.dispatch import dispatch_committed
from contracts.payment_methods import PaymentMethodRecord
from contracts.payments import PaymentStatus, PaymentTransition
from db.models import PaymentMethod
from db.repositories import customers as customers_repo
from db.repositories import held_tokens
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from db.repositories import receipts as receipts_repo


class RecordActivities:
    """Database writes, with the session factory injected once by the worker."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], mail: CustomerMail | None = None
    ) -> None:
        """``mail`` mails the receipts customers asked for (``receipt_email``); without it,
        nobody is mailed."""
        self._sessions = sessions
        self._mail = mail

    @activity.defn(name="record_payment_transition")
    async def record_payment_transition(self, transition: PaymentTransition) -> None:
        """Projection, refund, timeline entry and merchant events in one transaction: all of it
        or none; the events' deliveries start once it has committed. With them, when the payment
        succeeded and a receipt was asked for, the receipt mail (keyed by the payment, so the
        later transitions of a succeeded payment never mail it again)."""
        view = transition.payment
        receipt = None
        async with self._sessions() as session, session.begin():
            if transition.refund is not None:
                await payments_repo.save_refund(session, refund_values(transition.refund))
            await payments_repo.save_payment_snapshot(session, payment_values(view))
            await payments_repo.append_payment_event(
                session,
                payment_id=view.id,
                seq=view.version,
                type=transition.event_type,
                data={"status": view.status.value, **transition.detail},
                created_at=view.updated_at,
            )
            raised = await webhook_events.payment_events(
                session, view, transition.refund, transition.event_type
            )
            if (
                self._mail is not None
                and view.status is PaymentStatus.SUCCEEDED
                and await receipts_repo.receipt_requested(session, view.id)
            ):
                payment = await payments_repo.get_payment(session, view.id)
                if payment is not None:
                    receipt = await self._mail.payment_receipt(session, payment)
        await dispatch_committed(self._sessions, raised)
        if self._mail is not None:
            await self._mail.send(receipt)

    @activity.defn(name="record_provider_customer")
    async def record_provider_customer(self, customer_id: str, provider_customer_ref: str) -> None:
        async with self._sessions() as session, session.begin():
            await customers_repo.set_stripe_customer_id(session, customer_id, provider_customer_ref)

    @activity.defn(name="record_payment_method")
    async def record_payment_method(self, record: PaymentMethodRecord) -> None:
        """With no token in the record, the reference held for the method, whose held row goes
        in the same transaction: after this the token lives on the saved method alone."""
        async with self._sessions() as session, session.begin():
            token = record.provider_token
            if token is None:
                held = await held_tokens.get(session, record.payment_method_id)
                if held is None or held.reference is None:
                    saved = await payment_methods_repo.get_payment_method(
                        session, record.payment_method_id
                    )
                    if saved is not None:
                        return  # a retry of a write that committed: the held row went with it
                    raise ApplicationError(
                        f"no attached reference held for {record.payment_method_id}",
                        non_retryable=True,
                    )
                token = held.reference
                await held_tokens.release(session, record.payment_method_id)
            await payment_methods_repo.save_payment_method(
                session,
                PaymentMethod(**payment_method_values(replace(record, provider_token=token))),
            )
