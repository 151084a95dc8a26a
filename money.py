"""Currencies and their minor units: amounts are integers, the exponent says where the point is.

A leaf module (like ``settings``): the API validates with it, providers convert with it at their
boundary, and nothing here ever touches a float.

Durapay's amounts are always ISO 4217 minor units. The ISO table comes from the ``iso4217``
package (SIX's published list; ``ISO_PUBLISHED`` says which edition), so a new or withdrawn
currency arrives with a dependency update instead of an edit here. Providers do not all write
amounts the ISO way: Stripe writes Icelandic krónur with two decimals though ISO gives them none,
PayPal takes forints, yen and Taiwan dollars only in whole units. ``Representation`` says how one
provider writes one currency; ``to_provider_units`` / ``from_provider_units`` and
``to_provider_decimal`` convert exactly or refuse (``NotRepresentable``), never round.
"""

from __future__ import annotations

from dataclasses import dataclass

from iso4217 import Currency, __published__, raw_xml

MAX_AMOUNT = 99_999_999_999
"""Upper bound on any amount in minor units; providers impose lower, currency-specific ones."""

ISO_PUBLISHED = __published__
"""The edition of ISO 4217's list the ``iso4217`` package ships."""


_UNITS_OF_ACCOUNT = frozenset({"XAD", "UYW"})
"""The Arab Monetary Fund's accounting dinar and Uruguay's indexed Unidad Previsional: listed with
minor units, not flagged as funds, and still nothing a card or wallet is charged in."""


def _current_currencies() -> dict[str, int]:
    """ISO 4217's currencies a payment can be made in, with their minor-unit exponents.

    Left out, as units of account rather than means of payment: codes without minor units (gold,
    SDR, the test code XTS, "no currency" XXX), funds codes (``IsFund``: BOV, CHE, CHW, CLF, COU,
    MXV, USN, UYI) and ``_UNITS_OF_ACCOUNT``, which the table does not flag.
    """
    funds = {
        entry.findtext("Ccy")
        for entry in raw_xml.iterfind("CcyTbl/CcyNtry")
        if (name := entry.find("CcyNm")) is not None and name.get("IsFund") == "true"
    }
    return {
        currency.code: currency.exponent
        for currency in Currency
        if currency.exponent is not None
        and currency.code not in funds
        and currency.code not in _UNITS_OF_ACCOUNT
    }


_EXPONENTS = _current_currencies()
ISO_4217 = frozenset(_EXPONENTS)
"""The currency codes Durapay accepts (upper case)."""

_WITHDRAWN_EXPONENTS = {"ANG": 2, "BGN": 2, "ZWL": 2}
"""Codes Durapay accepted before ISO withdrew them (BGN with Bulgaria's euro on 2026-01-01, ANG
for XCG, ZWL for ZWG): no new payment may use them, but records made in them still format."""


def minor_unit_exponent(currency: str) -> int:
    """ISO 4217's number of decimals of ``currency`` (2 for USD, 0 for JPY, 3 for KWD)."""
    exponent = _EXPONENTS.get(currency, _WITHDRAWN_EXPONENTS.get(currency))
    if exponent is None:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency")
    return exponent


def _scale(digits: int) -> int:
    """``10**digits`` as the int it is (``digits`` ≥ 0); typed, as ``int ** int`` is not."""
    scale: int = 10**digits
    return scale


def format_amount(amount: int, currency: str) -> str:
    """``4999, "USD"`` → ``"49.99"``; ``500, "JPY"`` → ``"500"``. Exact: no float ever."""
    return _decimal_string(amount, minor_unit_exponent(currency))


def _decimal_string(units: int, exponent: int) -> str:
    if exponent == 0:
        return str(units)
    whole, fraction = divmod(abs(units), _scale(exponent))
    sign = "-" if units < 0 else ""
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def from_decimal_string(value: str, currency: str) -> int:
    """A decimal string (a provider's, in major units) back to ISO minor units, exactly.

    Trailing zeros past the currency's decimals are fine (``"500.00"`` JPY is 500); a non-zero
    digit there, an exponent or anything but digits is refused rather than rounded.
    """
    exponent = minor_unit_exponent(currency)
    whole, _, fraction = value.strip().partition(".")
    digits = whole.removeprefix("-")
    if not (digits + fraction).isdigit() or fraction[exponent:].strip("0"):
        raise ValueError(f"{value!r} is not an exact {currency} amount")
    sign = -1 if whole.startswith("-") else 1
    minor = int(fraction[:exponent].ljust(exponent, "0") or "0")
    return sign * (int(digits or "0") * _scale(exponent) + minor)


class NotRepresentable(ValueError):
    """An amount a provider cannot write exactly in its own units (HUF 10.50 at PayPal)."""


@dataclass(frozen=True)
class Representation:
    """How one provider writes amounts of one currency.

    ``exponent``: the decimals the provider's amounts are written with (its integers are
    ``major × 10**exponent``, its decimal strings have that many places). ``decimals``: how many
    of them may be non-zero; fewer than ``exponent`` when the provider keeps an old format but takes
    whole units only (Stripe's ISK: two decimals written, none allowed).
    """

    exponent: int
    decimals: int


_TWO_DECIMALS = Representation(exponent=2, decimals=2)

STRIPE = "stripe"
PAYPAL = "paypal"

_STRIPE = {
    # Zero-decimal currencies (docs.stripe.com/currencies#zero-decimal): amounts are whole units.
    **dict.fromkeys(
        "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split(),
        Representation(exponent=0, decimals=0),
    ),
    # Three-decimal currencies: written with three decimals, the last one always 0.
    **dict.fromkeys("BHD JOD KWD OMR TND".split(), Representation(exponent=3, decimals=2)),
    # Special case: ISK is zero-decimal since 2023, but Stripe still writes it with two
    # decimals for backwards compatibility, so amounts must be divisible by 100.
    "ISK": Representation(exponent=2, decimals=0),
}
"""Stripe's exceptions; every other currency is two-decimal there ("unless otherwise specified").
HUF and TWD are whole units only in Stripe *payouts*; charges take their two decimals."""

_PAYPAL = dict.fromkeys("HUF JPY TWD".split(), Representation(exponent=0, decimals=0))
"""PayPal's currency codes page: HUF, JPY and TWD "do not support decimals"; the rest have two.
A decimal there is answered with ``DECIMAL_PRECISION``."""

_PROVIDERS = {STRIPE: _STRIPE, PAYPAL: _PAYPAL}


def representation(provider: str, currency: str) -> Representation:
    """How ``provider`` (``"stripe"`` or ``"paypal"``) writes ``currency``."""
    try:
        exceptions = _PROVIDERS[provider]
    except KeyError:
        raise ValueError(f"no currency rules for provider {provider!r}") from None
    return exceptions.get(currency, _TWO_DECIMALS)


def representable(amount: int, currency: str, provider: str) -> bool:
    """Whether ``provider`` can take ``amount`` ISO minor units of ``currency`` exactly."""
    finer = minor_unit_exponent(currency) - representation(provider, currency).decimals
    return finer <= 0 or amount % _scale(finer) == 0


def require_representable(amount: int, currency: str, provider: str) -> None:
    """Refuse, with a sentence a client can act on, what ``provider`` cannot take exactly."""
    if not representable(amount, currency, provider):
        decimals = representation(provider, currency).decimals
        unit = "whole units" if decimals == 0 else f"at most {decimals} decimals"
        raise NotRepresentable(
            f"{provider} takes {currency} in {unit} only: {format_amount(amount, currency)} "
            f"{currency} ({amount} minor units) cannot be charged there exactly."
        )


def to_provider_units(amount: int, currency: str, provider: str) -> int:
    """ISO minor units → the provider's integer units (JPY 500 → 500 at Stripe, ISK 500 →
    50000); ``NotRepresentable`` where that would round."""
    require_representable(amount, currency, provider)
    shift = representation(provider, currency).exponent - minor_unit_exponent(currency)
    return amount * _scale(shift) if shift >= 0 else amount // _scale(-shift)


def from_provider_units(units: int, currency: str, provider: str) -> int:
    """The provider's integer units → ISO minor units; ``NotRepresentable`` if the provider
    reports a fraction ISO does not have (an ISK amount with aurar, made before 2023)."""
    shift = minor_unit_exponent(currency) - representation(provider, currency).exponent
    if shift >= 0:
        return units * _scale(shift)
    whole, rest = divmod(units, _scale(-shift))
    if rest:
        raise NotRepresentable(
            f"{provider} reported {units} units of {currency}, finer than ISO minor units"
        )
    return whole


def to_provider_decimal(amount: int, currency: str, provider: str) -> str:
    """ISO minor units → the decimal string a provider such as PayPal expects (``HUF 1000`` →
    ``"10"`` at PayPal, ``USD 4999`` → ``"49.99"``); ``NotRepresentable`` where that would round.
    Reading such a string back needs no provider: ``from_decimal_string`` is exact."""
    units = to_provider_units(amount, currency, provider)
    return _decimal_string(units, representation(provider, currency).exponent)
