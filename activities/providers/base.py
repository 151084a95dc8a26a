"""The provider protocol every payment provider implements, and the shared error taxonomy.

Contract for implementations: every mutating call takes the caller's idempotency key (derived from
workflow and step, never from an attempt number); every call is safe to repeat (it re-reads the
provider's state before acting, because a retry may follow a call that did reach the provider); a
decline is returned as a value; transport trouble, 5xx and 429 raise retryable
``ApplicationError``s, and refusals that no retry can fix raise the non-retryable types named in
``NON_RETRYABLE_PROVIDER_ERRORS``.
"""

from __future__ import annotations

from typing import Protocol

from temporalio.exceptions import ApplicationError

from workflows.types import (
    AttachResult,
    CreateIntentRequest,
    ErrorType,
    IntentResult,
    RefundResult,
)


class Provider(Protocol):
    """One payment provider, as the payment activities see it."""

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


def provider_failure(error_type: ErrorType, message: str) -> ApplicationError:
    """A provider failure for Temporal, left retryable so that retry policies alone decide, by
    ``error_type``, whether another attempt may help.

    ``message`` ends up in workflow history: it must never carry secrets or card data.
    """
    return ApplicationError(message, type=error_type.value, non_retryable=False)
