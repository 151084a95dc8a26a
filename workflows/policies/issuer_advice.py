"""What the issuer advises about charging a declined card again, and the card networks' limits on
how often a merchant may try.

Stripe passes the issuer's advice on a decline as ``advice_code`` and the network's own as
``network_advice_code`` (Mastercard's merchant advice codes). Both outrank the decline code:
an ``insufficient_funds`` decline the issuer marks ``do_not_try_again`` is not retried, and a
``do_not_honor`` marked ``try_again_later`` is retried past its usual low cap. Retrying against
the advice earns the merchant network fees and, past the networks' limits, fines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from contracts.providers import Decline


class IssuerAdvice(StrEnum):
    DO_NOT_TRY_AGAIN = "do_not_try_again"
    """The issuer will never approve this card for this merchant: stop charging it."""
    TRY_AGAIN_LATER = "try_again_later"
    """A passing refusal: the schedule's next attempt may succeed."""
    CONFIRM_CARD_DATA = "confirm_card_data"
    """The card's details are out of date: only the customer updating them can help."""


MASTERCARD_ADVICE = {
    "01": IssuerAdvice.CONFIRM_CARD_DATA,
    "02": IssuerAdvice.TRY_AGAIN_LATER,
    "03": IssuerAdvice.DO_NOT_TRY_AGAIN,
    "04": IssuerAdvice.TRY_AGAIN_LATER,
    "21": IssuerAdvice.DO_NOT_TRY_AGAIN,
    "24": IssuerAdvice.TRY_AGAIN_LATER,
    "25": IssuerAdvice.TRY_AGAIN_LATER,
    "26": IssuerAdvice.TRY_AGAIN_LATER,
    "27": IssuerAdvice.TRY_AGAIN_LATER,
    "28": IssuerAdvice.TRY_AGAIN_LATER,
    "29": IssuerAdvice.TRY_AGAIN_LATER,
    "30": IssuerAdvice.TRY_AGAIN_LATER,
    "40": IssuerAdvice.DO_NOT_TRY_AGAIN,
}
"""Mastercard's merchant advice codes: 01 new account information, 02 and 24 to 30 try again
later (04 the same, for a token), 03 and 21 do not try again, 40 a consumer non-reloadable
prepaid card."""

_STOPS = frozenset({IssuerAdvice.DO_NOT_TRY_AGAIN, IssuerAdvice.CONFIRM_CARD_DATA})


def advice_of(decline: Decline) -> IssuerAdvice | None:
    """The issuer's advice, Stripe's own field first, the network's code second."""
    known = {advice.value: advice for advice in IssuerAdvice}
    if decline.advice_code is not None and decline.advice_code in known:
        return known[decline.advice_code]
    if decline.network_advice_code is not None:
        return MASTERCARD_ADVICE.get(decline.network_advice_code)
    return None


def advice_stops_retries(advice: IssuerAdvice | None) -> bool:
    """Charging the same card again is against the issuer's advice."""
    return advice in _STOPS


@dataclass(frozen=True)
class NetworkRetryLimit:
    """At most ``attempts`` reattempts of a declined card within ``window``."""

    attempts: int
    window: timedelta


NETWORK_RETRY_LIMITS = {
    "visa": NetworkRetryLimit(15, timedelta(days=30)),
    "mastercard": NetworkRetryLimit(35, timedelta(days=30)),
}
"""Visa allows 15 reattempts of a declined card in 30 days; Mastercard 35 (of which at most 10
in 24 hours for its excessive-retry programme, kept well clear of by any dunning schedule)."""


def network_allows_retry(brand: str | None, reattempts: Sequence[datetime], now: datetime) -> bool:
    """Whether one more reattempt of a card of ``brand`` stays within its network's limit, given
    when the card was reattempted after declines before."""
    limit = NETWORK_RETRY_LIMITS.get((brand or "").lower())
    if limit is None:
        return True
    recent = [at for at in reattempts if now - at < limit.window]
    return len(recent) < limit.attempts
