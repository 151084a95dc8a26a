"""Dunning stops retrying a payment method only when the issuer will not change its mind."""

from __future__ import annotations

from contracts.payments import Failure
from contracts.providers import Decline
from workflows.policies.declines import decline_of, method_exhausted

SOFT = Decline("card_declined", "insufficient funds", "insufficient_funds")


def test_soft_declines_never_exhaust_a_method() -> None:
    assert not any(method_exhausted(SOFT, failures) for failures in range(1, 10))


def test_hard_decline_exhausts_the_method_at_once() -> None:
    assert method_exhausted(Decline("card_declined", "stolen", "stolen_card"), 1)
    assert method_exhausted(Decline("expired_card", "expired"), 1)


def test_do_not_honor_is_hard_after_the_second_try() -> None:
    refused = Decline("card_declined", "do not honor", "do_not_honor")
    assert not method_exhausted(refused, 1)
    assert method_exhausted(refused, 2)


def test_a_charge_without_an_answer_counts_as_a_soft_decline() -> None:
    assert not method_exhausted(decline_of(None), 5)
    failure = Failure("card_declined", "lost", retryable=False, decline_code="lost_card")
    assert method_exhausted(decline_of(failure), 1)
