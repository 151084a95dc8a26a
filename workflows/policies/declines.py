"""What a provider's decline means for trying again: the public ``failure`` of a payment, and
whether dunning should charge the same payment method once more."""

from __future__ import annotations

from enum import StrEnum

from contracts.payments import Failure
from contracts.providers import Decline
from workflows.policies.issuer_advice import IssuerAdvice, advice_of, advice_stops_retries


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
    """Hard declines stop retries on that payment method; soft ones follow a schedule. The
    issuer's advice, when it gives one, decides over the decline code."""
    if advice_stops_retries(advice_of(decline)):
        return DeclineKind.HARD
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
        advice=advice.value if (advice := advice_of(decline)) is not None else None,
    )


def method_exhausted(decline: Decline, failures_on_method: int) -> bool:
    """Whether charging the same payment method again is pointless.

    A hard decline (lost, stolen, expired…) ends it at once; a low-cap soft decline
    (``do_not_honor``, ``generic_decline``) after its second failure. Dunning then stops trying
    that method and waits for a new one, while the schedule's days still run out.
    """
    reason = decline.decline_code or decline.code
    if classify_decline(decline) is DeclineKind.HARD:
        return True
    if advice_of(decline) is IssuerAdvice.TRY_AGAIN_LATER:
        return False
    return reason in LOW_CAP_SOFT_DECLINE_CODES and failures_on_method >= LOW_CAP_RETRY_LIMIT


def decline_of(failure: Failure | None) -> Decline:
    """The decline behind a failed charge; a charge that never got an answer is a soft one."""
    if failure is None:
        return Decline(code="payment_incomplete", message="the payment did not complete")
    return Decline(
        code=failure.code,
        message=failure.message,
        decline_code=failure.decline_code,
        advice_code=failure.advice,
    )
