"""The issuer's advice changes what dunning does with a declined card, and the card networks'
retry limits per card are a policy of their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.providers import Decline
from workflows.policies.declines import decline_of, failure_from_decline, method_exhausted
from workflows.policies.issuer_advice import IssuerAdvice, advice_of, network_allows_retry

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def declined(decline_code: str, advice: str | None = None, network: str | None = None) -> Decline:
    return Decline("card_declined", "declined", decline_code, advice, network)


def test_do_not_try_again_stops_retries_of_a_soft_decline() -> None:
    assert not method_exhausted(declined("insufficient_funds"), 1)
    assert method_exhausted(declined("insufficient_funds", "do_not_try_again"), 1)


def test_confirm_card_data_waits_for_the_customer() -> None:
    assert method_exhausted(declined("generic_decline", "confirm_card_data"), 1)


def test_try_again_later_lifts_the_low_cap_of_do_not_honor() -> None:
    assert method_exhausted(declined("do_not_honor"), 2)
    assert not method_exhausted(declined("do_not_honor", "try_again_later"), 2)
    assert not method_exhausted(declined("do_not_honor", "try_again_later"), 5)


def test_try_again_later_does_not_revive_a_lost_card() -> None:
    assert method_exhausted(declined("lost_card", "try_again_later"), 1)


@pytest.mark.parametrize(
    ("network", "advice"),
    [
        ("01", IssuerAdvice.CONFIRM_CARD_DATA),
        ("02", IssuerAdvice.TRY_AGAIN_LATER),
        ("03", IssuerAdvice.DO_NOT_TRY_AGAIN),
        ("21", IssuerAdvice.DO_NOT_TRY_AGAIN),
        ("99", None),
    ],
)
def test_mastercard_advice_codes(network: str, advice: IssuerAdvice | None) -> None:
    assert advice_of(declined("insufficient_funds", network=network)) is advice


def test_stripes_advice_outranks_the_networks() -> None:
    decline = declined("insufficient_funds", "try_again_later", "03")
    assert advice_of(decline) is IssuerAdvice.TRY_AGAIN_LATER


def test_the_advice_survives_the_payments_failure_for_dunning() -> None:
    failure = failure_from_decline(declined("insufficient_funds", network="03"))
    assert (failure.advice, failure.retryable) == ("do_not_try_again", False)
    assert method_exhausted(decline_of(failure), 1)


def test_visa_allows_15_reattempts_in_30_days() -> None:
    fourteen = [NOW - timedelta(days=day) for day in range(1, 15)]
    assert network_allows_retry("visa", fourteen, NOW)
    fifteen = [*fourteen, NOW - timedelta(days=20)]
    assert not network_allows_retry("Visa", fifteen, NOW)
    a_month_ago = [*fourteen, NOW - timedelta(days=30)]
    assert network_allows_retry("visa", a_month_ago, NOW)


def test_mastercard_allows_35_and_other_brands_are_not_limited_here() -> None:
    daily = [NOW - timedelta(hours=20 * n) for n in range(1, 36)]
    assert not network_allows_retry("mastercard", daily, NOW)
    assert network_allows_retry("mastercard", daily[:34], NOW)
    assert network_allows_retry("amex", daily, NOW)
    assert network_allows_retry(None, daily, NOW)
