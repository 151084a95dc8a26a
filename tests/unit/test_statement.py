"""The statement builder: for any history of movements (payments, refunds, invoices, credits,
wallet deposits and withdrawals) and any period, the closing balance is the opening balance plus
the lines, every line's balance runs on from the one before, and consecutive statements chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from documents.statement import (
    MOVEMENT_TYPES,
    Movement,
    build_statement,
    statement_csv,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIGN = {
    "payment": 1,
    "refund": -1,
    "invoice": -1,
    "credit": 0,
    "deposit": 1,
    "withdrawal": -1,
}
"""The statement's convention (``documents.statement``); credits may go either way (0)."""

moments = st.integers(min_value=0, max_value=400 * 24).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def movements(draw: st.DrawFn) -> Movement:
    kind = draw(st.sampled_from(MOVEMENT_TYPES))
    size = draw(st.integers(min_value=1, max_value=10_000_000))
    sign = SIGN[kind] or draw(st.sampled_from((1, -1)))
    return Movement(draw(moments), kind, f"ref_{draw(st.integers(0, 999))}", sign * size)


histories = st.lists(movements(), max_size=60)
periods = st.tuples(st.none() | moments, moments)


@given(histories, periods)
def test_closing_is_opening_plus_the_lines(
    history: list[Movement], period: tuple[datetime | None, datetime]
) -> None:
    start, end = period
    statement = build_statement("cus_1", "USD", history, start=start, end=end)

    assert statement.closing_balance == statement.opening_balance + sum(
        line.amount for line in statement.lines
    )
    balance = statement.opening_balance
    for line in statement.lines:
        balance += line.amount
        assert line.balance == balance
    assert statement.opening_balance == sum(
        m.amount for m in history if start is not None and m.at < start
    )
    assert all((start is None or start <= line.at) and line.at < end for line in statement.lines)
    assert [line.at for line in statement.lines] == sorted(line.at for line in statement.lines)
    assert statement.totals["net"] == statement.closing_balance - statement.opening_balance
    assert sum(statement.totals[kind] for kind in MOVEMENT_TYPES) == statement.totals["net"]


@given(histories, moments, moments, moments)
def test_consecutive_statements_chain(
    history: list[Movement], first: datetime, second: datetime, third: datetime
) -> None:
    start, middle, end = sorted((first, second, third))
    earlier = build_statement("cus_1", "USD", history, start=start, end=middle)
    later = build_statement("cus_1", "USD", history, start=middle, end=end)
    whole = build_statement("cus_1", "USD", history, start=start, end=end)
    assert later.opening_balance == earlier.closing_balance
    assert whole.closing_balance == later.closing_balance
    assert whole.lines == earlier.lines + later.lines


def test_a_paid_invoice_and_its_payment_cancel_out_and_a_refund_gives_back() -> None:
    history = [
        Movement(T0, "invoice", "INV-2026-000001", -2900),
        Movement(T0 + timedelta(minutes=1), "payment", "pay_1", 2900),
        Movement(T0 + timedelta(days=2), "refund", "re_1", -900),
    ]
    statement = build_statement(
        "cus_1", "USD", history, start=T0 + timedelta(days=1), end=T0 + timedelta(days=3)
    )
    assert statement.opening_balance == 0
    assert [(line.type, line.amount, line.balance) for line in statement.lines] == [
        ("refund", -900, -900)
    ]
    assert statement.closing_balance == -900


def test_the_csv_holds_the_balances_and_every_line() -> None:
    history = [
        Movement(T0, "deposit", "wtx_1", 5000),
        Movement(T0 + timedelta(days=1), "withdrawal", "wd_1", -1500),
    ]
    statement = build_statement("cus_1", "EUR", history, start=None, end=T0 + timedelta(days=5))
    assert statement_csv(statement).splitlines() == [
        "at,type,reference,amount,balance",
        ",opening_balance,,,0",
        "2026-01-01T00:00:00+00:00,deposit,wtx_1,5000,5000",
        "2026-01-02T00:00:00+00:00,withdrawal,wd_1,-1500,3500",
        "2026-01-06T00:00:00+00:00,closing_balance,,,3500",
    ]
