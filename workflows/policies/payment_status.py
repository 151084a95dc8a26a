"""A payment's public state: where it starts, and what each answer of the provider makes of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from contracts.payments import (
    Failure,
    NextAction,
    PaymentInput,
    PaymentStatus,
    PaymentView,
    RefundRequest,
    RefundView,
)
from contracts.providers import IntentResult, IntentStatus, ProviderName, RefundResult, RefundStatus
from workflows.policies.declines import failure_from_decline

CANCELABLE_STATUSES = frozenset(
    {
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.REQUIRES_CAPTURE,
        PaymentStatus.UNDER_REVIEW,
        PaymentStatus.PROCESSING,
    }
)

Detail = dict[str, str | int | None]
"""The data of one timeline entry (``payment_events.data``)."""


def initial_view(payment: PaymentInput) -> PaymentView:
    """The payment before its first provider call: ``processing``, nothing captured."""
    return PaymentView(
        id=payment.payment_id,
        account_id=payment.account_id,
        request_hash=payment.request_hash,
        status=PaymentStatus.PROCESSING,
        amount=payment.amount,
        currency=payment.currency,
        amount_capturable=0,
        amount_captured=0,
        amount_refunded=0,
        customer_id=payment.customer_id,
        payment_method_id=payment.payment_method_id,
        provider=payment.provider,
        provider_reference=None,
        capture_method=payment.capture_method,
        next_action=None,
        failure=None,
        description=payment.description,
        metadata=dict(payment.metadata),
        created_at=payment.created_at,
        updated_at=payment.created_at,
        version=0,
        routing_rule=_fixed_route(payment),
    )


def _fixed_route(payment: PaymentInput) -> str | None:
    """Why a payment that routing does not place goes where it goes."""
    if payment.provider is None:
        return None
    if payment.payment_method_ref is not None:
        return f"saved payment method at {payment.provider}"
    return f"requested by the client: {payment.provider}"


def after_intent(
    view: PaymentView, intent: IntentResult, *, captured: int | None, checkout: bool
) -> tuple[PaymentView, Detail]:
    """Map the provider's view of the payment object onto the public payment status, and say
    what the timeline records of it.

    ``captured`` is the amount a capture call asked for: providers report partial captures
    inconsistently, so the workflow keeps its own figure. A ``checkout`` (no saved method) that
    still wants a payment method is waiting for the buyer, not failed.
    """
    status = intent.status
    detail: Detail = {"provider_status": status.value}
    if status is IntentStatus.SUCCEEDED:
        view = replace(
            view,
            status=PaymentStatus.SUCCEEDED,
            amount_captured=captured if captured is not None else view.amount,
            amount_capturable=0,
            next_action=None,
        )
    elif status is IntentStatus.REQUIRES_CAPTURE:
        view = replace(
            view,
            status=PaymentStatus.REQUIRES_CAPTURE,
            amount_capturable=intent.amount_capturable or view.amount,
            next_action=None,
        )
    elif status is IntentStatus.REQUIRES_ACTION or (
        status is IntentStatus.REQUIRES_PAYMENT_METHOD and checkout
    ):
        view = replace(view, status=PaymentStatus.REQUIRES_ACTION, next_action=next_action(intent))
    elif status is IntentStatus.DECLINED and intent.decline is not None:
        view = replace(
            view, status=PaymentStatus.FAILED, failure=failure_from_decline(intent.decline)
        )
        detail["decline_code"] = intent.decline.decline_code
    elif status is IntentStatus.REQUIRES_PAYMENT_METHOD:
        view = failed(
            view,
            Failure(
                code="authentication_failed",
                message="The customer did not complete authentication.",
                retryable=True,
            ),
        )
    elif status is IntentStatus.CANCELED:
        view = replace(view, status=PaymentStatus.CANCELED, amount_capturable=0, next_action=None)
    return view, detail


def next_action(intent: IntentResult) -> NextAction:
    """Redirect providers (PayPal) send the buyer to a page; Stripe hands the client a secret,
    which the API adds when it answers (it stays out of the history)."""
    if intent.action_url is not None:
        return NextAction(type="redirect_to_url", url=intent.action_url)
    return NextAction(type="stripe_sdk")


def failed(view: PaymentView, failure: Failure) -> PaymentView:
    """The payment failed: nothing left for the customer to do."""
    return replace(view, status=PaymentStatus.FAILED, next_action=None, failure=failure)


def unreachable(provider: ProviderName | None, outage: timedelta) -> Failure:
    """The failure of a payment whose provider stayed unreachable and provably charged nothing."""
    return Failure(
        code="provider_unavailable",
        message=f"{provider} could not be reached within {outage}; nothing was charged.",
        retryable=True,
    )


def after_refund(
    view: PaymentView, request: RefundRequest, amount: int, result: RefundResult, now: datetime
) -> tuple[PaymentView, RefundView]:
    """The payment and its refund of ``amount`` once the provider has answered ``request``:
    a refund that did not fail counts against what is left to refund."""
    refund = RefundView(
        id=request.refund_id,
        payment_id=view.id,
        amount=amount,
        currency=view.currency,
        status=result.status,
        reason=request.reason,
        created_at=now,
        provider_reference=result.reference or None,
    )
    if result.status is not RefundStatus.FAILED:
        view = replace(view, amount_refunded=view.amount_refunded + amount)
    return view, refund
