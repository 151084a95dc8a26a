"""Proration never creates or loses a cent, whatever sequence of plan changes a period sees."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from workflows.policies.proration import consumed, prorate

MONTH = 30 * 24 * 3600
amounts = st.integers(min_value=0, max_value=10_000_000)


@given(
    first=amounts,
    changes=st.lists(st.tuples(st.integers(0, MONTH), amounts), max_size=8),
)
def test_plan_change_sequences_bill_exactly_the_time_used(
    first: int, changes: list[tuple[int, int]]
) -> None:
    """Paid up front, then charged or credited at each change: the total equals the sum of each
    plan's consumed share of its own segment, to the cent."""
    changes = sorted(changes)
    paid = first
    plan = first
    for at, new_plan in changes:
        paid += prorate(plan, new_plan, MONTH, at).net
        plan = new_plan
    boundaries = [0] + [at for at, _ in changes] + [MONTH]
    plans = [first] + [new for _, new in changes]
    used = sum(
        consumed(amount, MONTH, end) - consumed(amount, MONTH, start)
        for amount, (start, end) in zip(plans, pairwise(boundaries), strict=True)
    )
    assert paid == used


@given(amount=amounts, cuts=st.lists(st.integers(0, MONTH), max_size=10))
def test_pieces_of_a_period_add_up_to_the_amount(amount: int, cuts: list[int]) -> None:
    points = [0, *sorted(cuts), MONTH]
    pieces = [consumed(amount, MONTH, b) - consumed(amount, MONTH, a) for a, b in pairwise(points)]
    assert all(piece >= 0 for piece in pieces)
    assert sum(pieces) == amount


def test_upgrade_halfway_charges_half_the_difference() -> None:
    proration = prorate(2900, 9900, MONTH, MONTH // 2)
    assert (proration.credit, proration.charge, proration.net) == (1450, 4950, 3500)


def test_downgrade_credits_the_next_invoice() -> None:
    """A third in: 3300 of 9900 used (6600 credit); 966.67 of 2900 used floors to 966 (1934 due)."""
    proration = prorate(9900, 2900, MONTH, MONTH // 3)
    assert (proration.credit, proration.charge, proration.net) == (6600, 1934, -4666)
