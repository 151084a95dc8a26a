"""Pure helpers of the API: card detection, money formatting, derived IDs."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.card_guard import contains_card_number
from money import format_amount, from_decimal_string
from services.idempotency import derive_id, request_hash


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "card: 4000-0566-5566-5556",
        '{"x": 378282246310005}',
        "3782 822463 10005",
        "6011-0009-9013-9424",
        "4242-4242-4242-4242-428",
    ],
)
def test_card_numbers_are_detected(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",
        "pi_4242424242424242abc",
        "1700000000",
        "order 12345",
        "2026-11-23T07:00:00Z",
        # UUIDs whose digit-only groups pass Luhn: refused as card numbers before (8-4-4, 4-12).
        "test-15095202-8583-4850-b910-ea9b601b98ca",
        "test-1fa8d3a0-8c84-4cd8-8500-732979106966",
        "82747060-2237-4254-94c8-eefbba694d1d",
    ],
)
def test_other_numbers_are_not_card_numbers(text: str) -> None:
    assert not contains_card_number(text)


@given(st.uuids(version=4))
def test_no_uuid_is_taken_for_a_card_number(value: uuid.UUID) -> None:
    """Stripe's own advice for Idempotency-Keys is a V4 UUID; merchants put them in metadata too."""
    assert not contains_card_number(f"{value}")
    assert not contains_card_number(f"order-{value}")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(4999, "USD", "49.99"), (5, "EUR", "0.05"), (500, "JPY", "500"), (1234, "KWD", "1.234")],
)
def test_format_amount_is_exact(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


def test_ids_are_scoped_by_every_part() -> None:
    mine = derive_id("pay_", "acct_a", "payment", "key-1")
    assert mine == derive_id("pay_", "acct_a", "payment", "key-1")
    assert mine != derive_id("pay_", "acct_b", "payment", "key-1")
    assert derive_id("pay_", "a", "bc") != derive_id("pay_", "ab", "c")
    assert mine.startswith("pay_")


def test_request_hash_ignores_key_order() -> None:
    assert request_hash({"a": 1, "b": 2}) == request_hash({"b": 2, "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


@pytest.mark.parametrize(
    ("amount", "currency"), [(4999, "USD"), (5, "EUR"), (500, "JPY"), (1234, "KWD"), (0, "USD")]
)
def test_decimal_strings_round_trip_exactly(amount: int, currency: str) -> None:
    assert from_decimal_string(format_amount(amount, currency), currency) == amount


@pytest.mark.parametrize(("value", "currency"), [("1.005", "USD"), ("1.5", "JPY"), ("1e3", "USD")])
def test_inexact_decimal_strings_are_refused(value: str, currency: str) -> None:
    with pytest.raises(ValueError, match="not an exact"):
        from_decimal_string(value, currency)
