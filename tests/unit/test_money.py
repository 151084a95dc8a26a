"""Currencies: ISO 4217 from the maintained table, and each provider's own units, converted
exactly both ways or refused — never rounded, never a float."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from money import (
    ISO_4217,
    ISO_PUBLISHED,
    MAX_AMOUNT,
    PAYPAL,
    STRIPE,
    NotRepresentable,
    format_amount,
    from_decimal_string,
    from_provider_units,
    minor_unit_exponent,
    representable,
    to_provider_decimal,
    to_provider_units,
)

PROVIDERS = (STRIPE, PAYPAL)


def test_the_iso_list_is_the_2026_one() -> None:
    """Bulgaria joined the euro on 2026-01-01 (BGN withdrawn); XCG replaced ANG, ZWG replaced
    ZWL; VED circulates beside VES. Funds and units of account are no means of payment."""
    assert date(2026, 1, 1) <= ISO_PUBLISHED
    assert {"XCG", "ZWG", "VED", "EUR", "USD", "JPY"} <= ISO_4217
    assert not {"BGN", "ANG", "ZWL", "HRK", "SLL"} & ISO_4217
    assert not {"CLF", "USN", "XAU", "XDR", "XTS", "XXX", "XAD", "UYW"} & ISO_4217


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("JPY", 0), ("ISK", 0), ("HUF", 2), ("KWD", 3), ("MGA", 2), ("XCG", 2)],
)
def test_exponents_are_iso_minor_units(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_records_in_withdrawn_currencies_still_format() -> None:
    assert format_amount(1999, "BGN") == "19.99"
    with pytest.raises(ValueError, match="not an ISO 4217 currency"):
        minor_unit_exponent("XYZ")


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        (500, "JPY", 500),
        (4999, "USD", 4999),
        (1500, "ISK", 150000),  # two legacy decimals at Stripe
        (1050, "HUF", 1050),  # Stripe charges take HUF's two decimals (payouts do not)
        (5120, "KWD", 5120),  # three decimals, the last one 0
        (1500, "MGA", 15),  # zero-decimal at Stripe, two decimals in ISO
    ],
)
def test_stripe_units(amount: int, currency: str, units: int) -> None:
    assert to_provider_units(amount, currency, STRIPE) == units
    assert from_provider_units(units, currency, STRIPE) == amount


@pytest.mark.parametrize(("amount", "currency"), [(5125, "KWD"), (150, "MGA")])
def test_stripe_refuses_what_it_would_round(amount: int, currency: str) -> None:
    with pytest.raises(NotRepresentable, match=f"stripe takes {currency}"):
        to_provider_units(amount, currency, STRIPE)


def test_an_isk_fraction_stripe_reports_is_not_rounded_away() -> None:
    with pytest.raises(NotRepresentable, match="finer than ISO"):
        from_provider_units(150050, "ISK", STRIPE)


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [(250000, "HUF", "2500"), (500, "JPY", "500"), (120000, "TWD", "1200"), (4999, "USD", "49.99")],
)
def test_paypal_decimal_strings(amount: int, currency: str, value: str) -> None:
    assert to_provider_decimal(amount, currency, PAYPAL) == value
    assert from_decimal_string(value, currency) == amount


@pytest.mark.parametrize("currency", ["HUF", "TWD"])
def test_paypal_refuses_a_fraction_of_a_whole_unit_currency(currency: str) -> None:
    assert not representable(1050, currency, PAYPAL)
    with pytest.raises(NotRepresentable, match=f"paypal takes {currency} in whole units only"):
        to_provider_decimal(1050, currency, PAYPAL)


def test_trailing_zeros_read_back_exactly() -> None:
    assert from_decimal_string("500.00", "JPY") == 500
    assert from_decimal_string("10.500", "USD") == 1050
    with pytest.raises(ValueError, match="not an exact"):
        from_decimal_string("10.505", "USD")


amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)
currencies = st.sampled_from(sorted(ISO_4217))
providers = st.sampled_from(PROVIDERS)


@given(amounts, currencies, providers)
def test_provider_units_round_trip_exactly_or_refuse(
    amount: int, currency: str, provider: str
) -> None:
    if not representable(amount, currency, provider):
        with pytest.raises(NotRepresentable):
            to_provider_units(amount, currency, provider)
        with pytest.raises(NotRepresentable):
            to_provider_decimal(amount, currency, provider)
        return
    units = to_provider_units(amount, currency, provider)
    value = to_provider_decimal(amount, currency, provider)
    assert type(units) is int
    assert from_provider_units(units, currency, provider) == amount
    assert from_decimal_string(value, currency) == amount


@given(amounts, currencies)
def test_a_whole_unit_is_representable_everywhere(amount: int, currency: str) -> None:
    """Whatever a provider's precision, a whole number of major units is always exact there."""
    whole = amount // 10 ** minor_unit_exponent(currency) * 10 ** minor_unit_exponent(currency)
    for provider in PROVIDERS:
        assert representable(whole, currency, provider)


@given(amounts, currencies)
def test_iso_decimal_strings_round_trip(amount: int, currency: str) -> None:
    assert from_decimal_string(format_amount(amount, currency), currency) == amount
