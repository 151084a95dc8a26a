"""Currencies and their minor units: amounts are integers, the exponent says where the point is.

A leaf module (like ``settings``): the API validates and formats with it, providers that speak
decimal strings (PayPal) convert with it, and nothing here ever touches a float.
"""

from __future__ import annotations

ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL""".split()
)
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

MAX_AMOUNT = 99_999_999_999
"""Upper bound on any amount in minor units; providers impose lower, currency-specific ones."""


def minor_unit_exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """``4999, "USD"`` → ``"49.99"``; ``500, "JPY"`` → ``"500"``. Exact: no float ever. Also the
    decimal string that providers such as PayPal expect."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return str(amount)
    whole, fraction = divmod(abs(amount), 10**exponent)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def from_decimal_string(value: str, currency: str) -> int:
    """A provider's decimal string back to minor units, refusing anything it cannot represent."""
    exponent = minor_unit_exponent(currency)
    whole, _, fraction = value.strip().partition(".")
    if len(fraction) > exponent or not (whole.lstrip("-") + fraction).isdigit():
        raise ValueError(f"{value!r} is not an exact {currency} amount")
    sign = -1 if whole.startswith("-") else 1
    scale: int = 10**exponent
    return sign * (abs(int(whole or "0")) * scale + int(fraction.ljust(exponent, "0") or "0"))
