"""What a failed provider call says about the payment: whether money may have moved, whether the
next provider may be tried, and how to name the failure on the timeline."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

from contracts.errors import NON_RETRYABLE_PROVIDER_ERRORS, ErrorType
from contracts.providers import CreateIntentRequest, ProviderName

FALLBACK_ERRORS = frozenset(
    {
        ErrorType.PROVIDER_UNAVAILABLE,
        ErrorType.PROVIDER_RATE_LIMITED,
        ErrorType.PROVIDER_AUTH_FAILED,
    }
)
"""Failures that say nothing about the payment itself, only about reaching this provider."""


def fallback_is_safe(request: CreateIntentRequest, error: ActivityError) -> bool:
    """True when creating the checkout at one provider failed in a way that provably moved no
    money, so the next provider may be tried.

    A checkout's create call carries no payment method and never confirms, so whatever it may
    have created (a response lost on the way back included) cannot be charged: confirming it
    needs the client secret or buyer approval that Durapay never handed out. The failure itself
    must be about reaching the provider, not about the payment: an invalid request would fail
    the same way everywhere.
    """
    if request.payment_method_ref is not None:
        return False
    cause = error.cause
    if isinstance(cause, ActivityTimeoutError):
        return True
    return isinstance(cause, ApplicationError) and cause.type in FALLBACK_ERRORS


def charges_on_create(provider: ProviderName, payment_method_ref: str | None) -> bool:
    """Whether creating the payment at ``provider`` already moves money: PayPal pays an order
    for a vaulted wallet in the create call itself; everywhere else money moves only on confirm
    or buyer approval."""
    return provider is ProviderName.PAYPAL and payment_method_ref is not None


def outlasted(error: ActivityError) -> bool:
    """The provider kept failing retryably until the workflow's bound ran out. Temporal reports
    that as retry state TIMEOUT, with either a timeout or the last attempt's failure as cause."""
    return error.retry_state is RetryState.TIMEOUT


def failure_type(error: ActivityError) -> str:
    """The kind of failure behind an activity error, for the timeline and the routing rule."""
    cause = error.cause
    if isinstance(cause, ActivityTimeoutError):
        last = cause.cause
        return last.type if isinstance(last, ApplicationError) and last.type else "timeout"
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__


def provider_refusal(error: ActivityError) -> ApplicationError | None:
    """The provider's non-retryable refusal behind an activity failure, if that is what it was."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type in NON_RETRYABLE_PROVIDER_ERRORS:
        return cause
    return None
