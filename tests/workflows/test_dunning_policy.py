"""Dunning retries soft declines on schedule and never retries a hard-declined method."""

from __future__ import annotations

import pytest

from workflows.policies import DunningStep, next_dunning_step
from workflows.types import Decline

SOFT = Decline("card_declined", "insufficient funds", "insufficient_funds")


@pytest.mark.parametrize(
    ("failures", "step"),
    [
        (1, DunningStep(retry_on_day=3, method_usable=True)),
        (2, DunningStep(retry_on_day=7, method_usable=True)),
        (3, DunningStep(retry_on_day=14, method_usable=True)),
        (4, DunningStep(retry_on_day=None, method_usable=True)),
    ],
)
def test_soft_declines_follow_the_schedule(failures: int, step: DunningStep) -> None:
    assert next_dunning_step(failures, SOFT) == step


def test_hard_decline_stops_retrying_the_method() -> None:
    stolen = Decline("card_declined", "stolen", "stolen_card")
    assert next_dunning_step(1, stolen) == DunningStep(retry_on_day=None, method_usable=False)


def test_do_not_honor_is_hard_after_the_second_try() -> None:
    refused = Decline("card_declined", "do not honor", "do_not_honor")
    assert next_dunning_step(1, refused).method_usable
    assert not next_dunning_step(2, refused).method_usable


def test_schedule_can_be_overridden_per_plan() -> None:
    assert next_dunning_step(1, SOFT, (1, 2)).retry_on_day == 1
    assert next_dunning_step(3, SOFT, (1, 2)).retry_on_day is None
