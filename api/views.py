"""Turn database rows and workflow views into the public response models."""

from __future__ import annotations

from dataclasses import asdict

from api.schemas.customers import CustomerOut, PaymentMethodOut
from api.schemas.payments import FailureOut, NextActionOut, PaymentEventOut, PaymentOut, RefundOut
from contracts.payments import PaymentView, RefundView
from db.models import (
    Customer,
    Payment,
    PaymentEvent,
    PaymentMethod,
    Refund,
)


def customer_out(row: Customer) -> CustomerOut:
    return CustomerOut(
        id=row.id,
        email=row.email,
        name=row.name,
        metadata=row.metadata_ or {},
        created_at=row.created_at,
    )


def payment_method_out(row: PaymentMethod) -> PaymentMethodOut:
    return PaymentMethodOut(
        id=row.id,
        provider=row.provider,
        type=row.type,
        brand=row.brand,
        last4=row.last4,
        exp_month=row.exp_month,
        exp_year=row.exp_year,
        is_default=row.is_default,
        created_at=row.created_at,
    )


def payment_from_view(view: PaymentView) -> PaymentOut:
    """Every public field has the same name in the workflow view; internal ones are dropped."""
    return PaymentOut.model_validate({**asdict(view), "risk": None})


def payment_from_row(row: Payment) -> PaymentOut:
    return PaymentOut(
        id=row.id,
        status=row.status,
        amount=row.amount,
        currency=row.currency,
        amount_capturable=row.amount_capturable,
        amount_captured=row.amount_captured,
        amount_refunded=row.amount_refunded,
        customer_id=row.customer_id,
        payment_method_id=row.payment_method_id,
        provider=row.provider,
        provider_reference=row.provider_reference,
        routing_rule=row.routing_rule,
        capture_method=row.capture_method,
        next_action=NextActionOut(**row.next_action) if row.next_action else None,
        failure=FailureOut(**row.failure) if row.failure else None,
        risk=row.risk,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        metadata=row.metadata_ or {},
    )


def refund_from_view(view: RefundView) -> RefundOut:
    return RefundOut.model_validate(asdict(view))


def refund_from_row(row: Refund) -> RefundOut:
    return RefundOut(
        id=row.id,
        payment_id=row.payment_id,
        amount=row.amount,
        currency=row.currency,
        status=row.status,
        reason=row.reason,
        created_at=row.created_at,
    )


def event_out(row: PaymentEvent) -> PaymentEventOut:
    return PaymentEventOut(
        seq=row.seq, type=row.type, data=row.data or {}, created_at=row.created_at
    )
