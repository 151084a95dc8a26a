"""Turn database rows and workflow views into the public response models."""

from __future__ import annotations

from dataclasses import asdict

from api.schemas import (
    CustomerOut,
    FailureOut,
    NextActionOut,
    PaymentEventOut,
    PaymentMethodOut,
    PaymentOut,
    RefundOut,
)
from db.models import Customer, Payment, PaymentEvent, PaymentMethod, Refund
from workflows.types import PaymentView, RefundView


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
    return PaymentOut(
        id=view.id,
        status=view.status.value,
        amount=view.amount,
        currency=view.currency,
        amount_capturable=view.amount_capturable,
        amount_captured=view.amount_captured,
        amount_refunded=view.amount_refunded,
        customer_id=view.customer_id,
        payment_method_id=view.payment_method_id,
        provider=view.provider.value,
        provider_reference=view.provider_reference,
        capture_method=view.capture_method.value,
        next_action=NextActionOut(**asdict(view.next_action)) if view.next_action else None,
        failure=FailureOut(**asdict(view.failure)) if view.failure else None,
        risk=None,
        description=view.description,
        created_at=view.created_at,
        updated_at=view.updated_at,
        metadata=dict(view.metadata),
    )


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
    return RefundOut(
        id=view.id,
        payment_id=view.payment_id,
        amount=view.amount,
        currency=view.currency,
        status=view.status.value,
        reason=view.reason,
        created_at=view.created_at,
    )


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
