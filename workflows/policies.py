"""Pure, deterministic payment rules shared by workflows and tests.

Nothing here reads the clock, the network or settings, so a workflow can call any of it during
replay and get the same answer.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from temporalio.common import RetryPolicy

from workflows.types import NON_RETRYABLE_PROVIDER_ERRORS, Decline, Failure


class DeclineKind(StrEnum):
    """Whether trying the same payment method again could ever succeed."""

    HARD = "hard"
    SOFT = "soft"


HARD_DECLINE_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "fraudulent",
        "merchant_blacklist",
        "restricted_card",
        "security_violation",
        "invalid_account",
        "card_not_supported",
        "currency_not_supported",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "do_not_try_again",
        "revocation_of_authorization",
    }
)

# Soft, but issuers rarely change their mind: dunning retries these at most this often.
LOW_CAP_SOFT_DECLINE_CODES = frozenset({"generic_decline", "do_not_honor"})
LOW_CAP_RETRY_LIMIT = 2


def classify_decline(decline: Decline) -> DeclineKind:
    """Hard declines stop retries on that payment method; soft ones follow a schedule."""
    reason = decline.decline_code or decline.code
    if reason in HARD_DECLINE_CODES:
        return DeclineKind.HARD
    return DeclineKind.SOFT


def failure_from_decline(decline: Decline) -> Failure:
    """The public ``failure`` object for a declined payment."""
    return Failure(
        code=decline.code,
        decline_code=decline.decline_code,
        message=decline.message,
        retryable=classify_decline(decline) is DeclineKind.SOFT,
    )


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
