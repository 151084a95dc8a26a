"""Decline classification decides whether a card is ever tried again: hard stays hard."""

from __future__ import annotations

import pytest

from contracts.providers import Decline
from workflows.policies.declines import DeclineKind, classify_decline, failure_from_decline


@pytest.mark.parametrize(
    ("decline_code", "kind"),
    [
        ("stolen_card", DeclineKind.HARD),
        ("expired_card", DeclineKind.HARD),
        ("do_not_try_again", DeclineKind.HARD),
        ("insufficient_funds", DeclineKind.SOFT),
        ("do_not_honor", DeclineKind.SOFT),
        (None, DeclineKind.SOFT),
    ],
)
def test_classify_decline(decline_code: str | None, kind: DeclineKind) -> None:
    assert classify_decline(Decline("card_declined", "declined", decline_code)) is kind


def test_failure_marks_hard_declines_not_retryable() -> None:
    failure = failure_from_decline(Decline("card_declined", "Your card was stolen.", "stolen_card"))
    assert (failure.code, failure.decline_code, failure.retryable) == (
        "card_declined",
        "stolen_card",
        False,
    )
