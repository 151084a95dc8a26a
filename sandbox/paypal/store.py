"""In-memory state of the sandbox.

Every resource is kept as the JSON object PayPal would return, so a GET answers exactly what the
POST that made it answered, and webhooks carry the same objects.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

Resource = dict[str, Any]

_ID_ALPHABET = string.ascii_uppercase + string.digits

# Currencies PayPal prices in whole units; every other supported currency has two decimals.
ZERO_DECIMAL_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})


def new_id(length: int = 17) -> str:
    """PayPal's ids for orders, payments and tokens are upper-case alphanumerics."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def timestamp(moment: datetime | None = None) -> str:
    """PayPal's timestamp form: RFC 3339 in UTC, whole seconds, ``Z`` suffix."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(currency: str, amount: Decimal) -> Resource:
    """A PayPal ``Money`` object; values are decimal strings in the currency's own precision."""
    exponent = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return {"currency_code": currency, "value": str(amount.quantize(exponent))}


def amount_of(value: Resource) -> Decimal:
    """The decimal value of a ``Money`` object this sandbox stored (already validated)."""
    return Decimal(str(value["value"]))


@dataclass
class Store:
    """All resources by id, plus the bookkeeping PayPal keeps but does not show."""

    orders: dict[str, Resource] = field(default_factory=dict)
    authorizations: dict[str, Resource] = field(default_factory=dict)
    captures: dict[str, Resource] = field(default_factory=dict)
    refunds: dict[str, Resource] = field(default_factory=dict)
    setup_tokens: dict[str, Resource] = field(default_factory=dict)
    payment_tokens: dict[str, Resource] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    # The redirect targets and merchant options given at creation, by order or setup-token id.
    experience: dict[str, Resource] = field(default_factory=dict)
    # Captures of each authorization and refunds of each capture, to bound further ones.
    captures_of: dict[str, list[str]] = field(default_factory=dict)
    refunds_of: dict[str, list[str]] = field(default_factory=dict)
    # Answers already given per (method and path, PayPal-Request-Id), with when they were given.
    replies: dict[tuple[str, str], tuple[int, Resource, datetime]] = field(default_factory=dict)
    # The one sandbox buyer every approval is made by.
    payer_id: str = field(default_factory=lambda: new_id(13))
