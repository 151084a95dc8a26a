"""Pure, deterministic payment rules shared by workflows and tests.

Nothing here reads the clock, the network or settings, so a workflow can call any of it during
replay and get the same answer.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from temporalio.common import RetryPolicy

from contracts.errors import NON_RETRYABLE_PROVIDER_ERRORS, ErrorType
from contracts.payments import Failure
from contracts.providers import Decline
from contracts.subscriptions import PlanInterval


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

MAIL_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=50,
    non_retryable_error_types=[ErrorType.MAIL_CONTEXT_INVALID],
)
"""A mail server that is down is retried for hours (the outbox keeps a resend from mailing
twice); a mail that cannot be rendered is not. Either way dunning carries on without it."""


# ---------------------------------------------------------------------------------------------
# Proration
# ---------------------------------------------------------------------------------------------


def consumed(amount: int, period_seconds: int, elapsed_seconds: int) -> int:
    """How much of a period's ``amount`` has been used after ``elapsed_seconds``.

    Rounding rule: always ``floor(amount * elapsed / period)`` of the *cumulative* time. Every
    proration below is a difference of two such values, so the pieces of a period always add up to
    the whole amount: no cent is created or lost, however many times the plan changes.
    """
    if period_seconds <= 0:
        raise ValueError("a billing period must have a positive length")
    elapsed = min(max(elapsed_seconds, 0), period_seconds)
    return amount * elapsed // period_seconds


@dataclass(frozen=True)
class Proration:
    """A mid-period plan change: credit for the old plan's unused rest, charge for the new one's."""

    credit: int
    charge: int

    @property
    def net(self) -> int:
        """Positive: charge now (upgrade). Negative: credit the next invoice (downgrade)."""
        return self.charge - self.credit


def prorate(
    old_amount: int, new_amount: int, period_seconds: int, elapsed_seconds: int
) -> Proration:
    """Switch plans ``elapsed_seconds`` into a period of ``period_seconds``."""
    return Proration(
        credit=old_amount - consumed(old_amount, period_seconds, elapsed_seconds),
        charge=new_amount - consumed(new_amount, period_seconds, elapsed_seconds),
    )


# ---------------------------------------------------------------------------------------------
# Dunning
# ---------------------------------------------------------------------------------------------

DEFAULT_RETRY_DAYS: tuple[int, ...] = (3, 7, 14)
"""Days after the first failed renewal on which the invoice is tried again."""


def method_exhausted(decline: Decline, failures_on_method: int) -> bool:
    """Whether charging the same payment method again is pointless.

    A hard decline (lost, stolen, expired…) ends it at once; a low-cap soft decline
    (``do_not_honor``, ``generic_decline``) after its second failure. Dunning then stops trying
    that method and waits for a new one, while the schedule's days still run out.
    """
    reason = decline.decline_code or decline.code
    if classify_decline(decline) is DeclineKind.HARD:
        return True
    return reason in LOW_CAP_SOFT_DECLINE_CODES and failures_on_method >= LOW_CAP_RETRY_LIMIT


def decline_of(failure: Failure | None) -> Decline:
    """The decline behind a failed charge; a charge that never got an answer is a soft one."""
    if failure is None:
        return Decline(code="payment_incomplete", message="the payment did not complete")
    return Decline(code=failure.code, message=failure.message, decline_code=failure.decline_code)


# ---------------------------------------------------------------------------------------------
# Billing periods
# ---------------------------------------------------------------------------------------------


def period_end(anchor: datetime, interval: PlanInterval, periods: int) -> datetime:
    """The end of the ``periods``-th period counted from ``anchor``, in calendar months or years.

    Always computed from the anchor, never from the previous end, so a subscription started on
    the 31st bills on the 28th/29th in February and on the 31st again in March.
    """
    months = periods * (12 if interval is PlanInterval.YEAR else 1)
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def tax_amount(subtotal: int, basis_points: int) -> int:
    """Tax on an invoice, rounded half up to the minor unit (a stated, single rounding)."""
    return (subtotal * basis_points + 5_000) // 10_000
