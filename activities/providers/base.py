"""The provider protocol every payment provider implements, and the shared error taxonomy.

Contract for implementations: every mutating call takes the caller's idempotency key (derived from
workflow and step, never from an attempt number); every call is safe to repeat (it re-reads the
provider's state before acting, because a retry may follow a call that did reach the provider); a
decline is returned as a value; transport trouble, 5xx and 429 raise retryable
``ApplicationError``s, and refusals that no retry can fix raise the non-retryable types named in
``NON_RETRYABLE_PROVIDER_ERRORS``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from temporalio.exceptions import ApplicationError

from contracts.errors import ErrorType
from contracts.providers import AttachResult, CreateIntentRequest, IntentResult, RefundResult
from money import NotRepresentable


class Provider(Protocol):
    """One payment provider, as the payment activities see it.

    Amounts in and out are ISO 4217 minor units, whatever the provider's own units
    (``money.Representation``): each implementation converts at its boundary, exactly.
    """

    async def create_intent(
        self, request: CreateIntentRequest, idempotency_key: str
    ) -> IntentResult:
        """Create the provider's payment object without confirming it, tagged with
        ``request.payment_id`` so webhooks can be routed back to the payment."""

    async def confirm_intent(
        self, reference: str, idempotency_key: str, off_session: bool
    ) -> IntentResult:
        """Confirm only while the object still awaits confirmation; otherwise report its state."""

    async def retrieve_intent(self, reference: str) -> IntentResult: ...

    async def capture_intent(
        self, reference: str, amount: int, idempotency_key: str
    ) -> IntentResult:
        """Capture only while the object is still authorized; otherwise report its state."""

    async def cancel_intent(self, reference: str, idempotency_key: str) -> IntentResult:
        """Cancel only while the object can still be canceled; otherwise report its state."""

    async def refund(
        self, reference: str, amount: int, idempotency_key: str, refund_id: str
    ) -> RefundResult:
        """Refund once per ``refund_id``: a repeat returns the refund already made."""

    async def ensure_customer(
        self, customer_id: str, email: str, name: str | None, idempotency_key: str
    ) -> str:
        """The provider's customer reference for ``customer_id``, created on first use."""

    async def attach_payment_method(
        self, provider_customer_ref: str, token: str, idempotency_key: str
    ) -> AttachResult:
        """Save a tokenised payment method on the customer; refusals come back as values."""


ACTIVITY_TIMEOUT = timedelta(seconds=30)
"""A provider call's start-to-close timeout unless the worker says otherwise (the default
``provider_call_timeout``)."""


def request_timeout(activity_timeout: timedelta, requests_per_call: int) -> float:
    """Seconds an SDK may wait for one HTTP answer, so that every request one activity makes
    ends before Temporal times the activity out: the attempt's calls are over when the retry
    starts, and two attempts never overlap at the provider. The SDKs' own defaults (Stripe 80 s,
    PayPal 60 s) outlast a 30 s activity."""
    return activity_timeout.total_seconds() / requests_per_call


RETRY_AFTER_LIMIT = timedelta(seconds=60)
"""The longest a provider's ``Retry-After`` holds back the next attempt. Longer asks are cut to
this: the attempt that follows is refused again with a new ``Retry-After`` if the provider still
means it, and a payment never waits an hour on one header."""


def provider_failure(
    error_type: ErrorType, message: str, *, retry_after: timedelta | None = None
) -> ApplicationError:
    """A provider failure for Temporal, left retryable so that retry policies alone decide, by
    ``error_type``, whether another attempt may help. ``retry_after``, when the provider said
    when to come back, replaces the retry policy's backoff for the next attempt only: retrying a
    rate limit sooner than asked only earns another 429.

    ``message`` ends up in workflow history: it must never carry secrets or card data.
    """
    return ApplicationError(
        message, type=error_type.value, non_retryable=False, next_retry_delay=retry_after
    )


@contextmanager
def exact_amounts() -> Iterator[None]:
    """Fail the call, without a retry, when an amount cannot be written exactly in the
    provider's units (HUF 10.50 at PayPal). The API refuses such amounts before anything starts;
    this keeps a rounded amount from ever reaching a provider should one get through."""
    try:
        yield
    except NotRepresentable as error:
        raise provider_failure(ErrorType.PROVIDER_INVALID_REQUEST, str(error)) from None


def retry_after(headers: Mapping[str, str] | None) -> timedelta | None:
    """The delay a ``Retry-After`` response header asks for (seconds, or an HTTP date), at most
    ``RETRY_AFTER_LIMIT``; ``None`` when there is none or it cannot be read."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return timedelta(seconds=min(max(seconds, 0.0), RETRY_AFTER_LIMIT.total_seconds()))
