"""Which updates a payment or a subscription accepts in its current state.

Validators and handlers ask the same questions, so a request is refused before anything is
written and again, unchanged, if the state moved while it waited for the lock.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.exceptions import ApplicationError

from contracts.errors import ErrorType
from contracts.payments import PaymentStatus, PaymentView
from contracts.subscriptions import PlanTerms, SubscriptionStatus, SubscriptionView
from workflows.policies.subscription_status import FINAL


def invalid_state(message: str) -> ApplicationError:
    return ApplicationError(message, type=ErrorType.INVALID_STATE)


def provider_unavailable(call: str) -> ApplicationError:
    """A capture or cancel the provider never answered within the outage limit and whose object
    shows it never happened: refused, so the caller may ask again once the provider is back."""
    return ApplicationError(
        f"The provider stayed unreachable; the {call} did not happen. Retry later.",
        type=ErrorType.PROVIDER_UNAVAILABLE,
        non_retryable=True,
    )


def key_reused() -> ApplicationError:
    return ApplicationError(
        "This Idempotency-Key was already used with a different request body.",
        type=ErrorType.IDEMPOTENCY_KEY_REUSED,
    )


def seen_key(keyed_requests: Mapping[str, str], key: str, request_hash: str) -> bool:
    """True when this Idempotency-Key was already handled with the same body; a different
    body under the same key is refused before anything happens."""
    known = keyed_requests.get(key)
    if known is None:
        return False
    if known != request_hash:
        raise key_reused()
    return True


def require_capture(view: PaymentView, requested: int | None) -> int:
    """The amount to capture (all that is capturable when ``requested`` is ``None``), provided
    the payment is authorized and holds that much."""
    if view.status is not PaymentStatus.REQUIRES_CAPTURE:
        raise invalid_state(f"The payment is {view.status}, not {PaymentStatus.REQUIRES_CAPTURE}.")
    amount = requested if requested is not None else view.amount_capturable
    if amount <= 0 or amount > view.amount_capturable:
        raise ApplicationError(
            f"Capture amount must be between 1 and {view.amount_capturable}.",
            type=ErrorType.AMOUNT_EXCEEDS_CAPTURABLE,
        )
    return amount


def refundable(view: PaymentView) -> int:
    return view.amount_captured - view.amount_refunded


def require_refundable(view: PaymentView, amount: int | None, *, closing: bool) -> None:
    """``amount`` (all that is left when ``None``) can be refunded, and the window is open."""
    if closing:
        raise invalid_state("The refund window of this payment has closed.")
    if view.status is not PaymentStatus.SUCCEEDED:
        raise invalid_state(f"A {view.status} payment has nothing captured to refund.")
    available = refundable(view)
    wanted = amount if amount is not None else available
    if wanted <= 0 or wanted > available:
        raise ApplicationError(
            f"At most {available} {view.currency} minor units can be refunded.",
            {"available": available},
            type=ErrorType.REFUND_EXCEEDS_AVAILABLE,
        )


def require_open(view: SubscriptionView) -> None:
    if view.status in FINAL:
        raise invalid_state(f"The subscription is {view.status}.")


def require_subscription_status(view: SubscriptionView, status: SubscriptionStatus) -> None:
    if view.status is not status:
        raise invalid_state(f"The subscription is {view.status}, not {status}.")


def require_plan_change(view: SubscriptionView, current: PlanTerms, new: PlanTerms) -> None:
    """Only a live subscription changes plan, and never into another currency."""
    if view.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        raise invalid_state(f"A {view.status} subscription cannot change plan.")
    if new.currency != current.currency:
        raise ApplicationError(
            f"{new.id} is billed in {new.currency}, this subscription in {current.currency}.",
            type=ErrorType.PLAN_CURRENCY_MISMATCH,
        )
