"""Activities that write the database: the payment projection, its timeline, saved methods.

Every write is idempotent (versioned upserts, unique keys), so these run as local activities that
retry until the database answers, and a replayed or retried write changes nothing twice.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts.payment_methods import PaymentMethodRecord
from contracts.payments import PaymentTransition, PaymentView, RefundView
from db.models import PaymentMethod
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo


def payment_values(view: PaymentView) -> dict[str, Any]:
    """Column values of the ``payments`` projection for one workflow view."""
    assert view.provider is not None, "a payment is recorded only once routed"
    return {
        "id": view.id,
        "account_id": view.account_id,
        "customer_id": view.customer_id,
        "payment_method_id": view.payment_method_id,
        "provider": view.provider.value,
        "provider_reference": view.provider_reference,
        "status": view.status.value,
        "amount": view.amount,
        "currency": view.currency,
        "amount_capturable": view.amount_capturable,
        "amount_captured": view.amount_captured,
        "amount_refunded": view.amount_refunded,
        "capture_method": view.capture_method.value,
        "next_action": asdict(view.next_action) if view.next_action else None,
        "failure": asdict(view.failure) if view.failure else None,
        "risk": None,
        "description": view.description,
        "metadata_": dict(view.metadata),
        "request_hash": view.request_hash,
        "routing_rule": view.routing_rule,
        "version": view.version,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


def refund_values(refund: RefundView) -> dict[str, Any]:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status.value,
        "reason": refund.reason,
        "provider_reference": refund.provider_reference,
        "created_at": refund.created_at,
        "updated_at": refund.created_at,
    }


class RecordActivities:
    """Database writes, with the session factory injected once by the worker."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="record_payment_transition")
    async def record_payment_transition(self, transition: PaymentTransition) -> None:
        """Projection, refund and timeline entry in one transaction: all of it or none."""
        view = transition.payment
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

    @activity.defn(name="record_provider_customer")
    async def record_provider_customer(self, customer_id: str, provider_customer_ref: str) -> None:
        async with self._sessions() as session, session.begin():
            await customers_repo.set_stripe_customer_id(session, customer_id, provider_customer_ref)

    @activity.defn(name="record_payment_method")
    async def record_payment_method(self, record: PaymentMethodRecord) -> None:
        details = record.details
        async with self._sessions() as session, session.begin():
            await payment_methods_repo.save_payment_method(
                session,
                PaymentMethod(
                    id=record.payment_method_id,
                    customer_id=record.customer_id,
                    provider=record.provider.value,
                    provider_token=record.provider_token,
                    type=details.type,
                    brand=details.brand,
                    last4=details.last4,
                    exp_month=details.exp_month,
                    exp_year=details.exp_year,
                    is_default=False,
                    created_at=record.created_at,
                ),
            )
