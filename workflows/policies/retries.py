"""How long each kind of activity may run and how it is retried.

Every retry here is safe because of what the activity does, said next to each policy: provider
calls carry idempotency keys, database writes are versioned or keyed, mails go through an outbox.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from contracts.errors import NON_RETRYABLE_PROVIDER_ERRORS, ErrorType

PROVIDER_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=list(NON_RETRYABLE_PROVIDER_ERRORS),
)
"""Provider calls retry transport failures, 5xx and 429 for as long as it takes: every call carries
an idempotency key and confirms only intents the workflow already knows, so a retry never charges
twice, and a payment waiting on an outage stays visibly ``processing``."""

RECORD_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)
"""Database writes are idempotent (versioned upserts, unique event keys), so they retry forever:
a database outage delays the projection but never loses a state change."""

MAIL_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=50,
    non_retryable_error_types=[ErrorType.MAIL_CONTEXT_INVALID],
)
"""A mail server that is down is retried for hours (the outbox keeps a resend from mailing
twice); a mail that cannot be rendered is not. Either way dunning carries on without it."""

REFUND_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[ErrorType.REFUND_NOT_POSSIBLE],
)
"""A subscription's unused-time refund goes through the payment's own workflow, keyed by refund
id; a payment that refuses it (closed, nothing left) will not change its mind."""

RECORD_TIMEOUT = timedelta(seconds=10)
"""A local activity writing one payment step (projection, timeline) or a saved method."""

DB_TIMEOUT = timedelta(seconds=30)
"""A billing activity: opening or updating an invoice, a dunning case, finding a charge target."""

MAIL_TIMEOUT = timedelta(seconds=60)

REFUND_TIMEOUT = timedelta(minutes=2)
"""Asking a payment's workflow for a refund and waiting for its answer."""
