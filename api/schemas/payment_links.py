"""Payment links and the public payment routes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.schemas.common import (
    Amount,
    Currency,
    Description,
    ProviderLiteral,
    Request,
    ResourceId,
    Response,
)


class PaymentLinkCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "cus_8f3a2b1c9d0e4f56",
                    "amount": 2500,
                    "currency": "usd",
                    "description": "Order 1042",
                    "expires_in": 86400,
                },
                {"customer_id": "cus_8f3a2b1c9d0e4f56", "invoice_id": "in_4f2a9c0d1e3b5a68"},
            ]
        }
    )
    """An amount, or an open invoice whose amount due the link charges."""

    customer_id: ResourceId
    invoice_id: ResourceId | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    description: Description | None = None
    expires_in: Annotated[StrictInt, Field(ge=60)] | None = None
    """Seconds until the link expires; default 7 days (``DURAPAY_PAYMENT_LINK_EXPIRY``)."""


class PaymentLinkOut(Response):
    id: str
    url: str | None
    """``<DURAPAY_PUBLIC_BASE_URL>/pay/<token>``, in the answer that created the link only: the
    token is stored hashed, so a repeated create (same Idempotency-Key) shows ``null``."""
    expires_at: datetime
    status: Literal["active", "used", "expired", "revoked"]
    customer_id: str
    invoice_id: str | None
    amount: int
    currency: str
    description: str | None
    payment_id: str | None
    """The payment of the latest attempt through the link."""
    created_at: datetime


class LinkPaymentOut(Response):
    """A payment through a link, as the customer's browser needs it."""

    id: str
    status: str
    amount: int
    currency: str
    provider: str | None
    failure: dict[str, Any] | None
    next_action: dict[str, Any] | None
    """``{type: "stripe_sdk", client_secret}`` (3-D Secure in the browser) or
    ``{type: "redirect_to_url", url}`` (PayPal's approval page)."""
    updated_at: datetime


class LinkDueOut(Response):
    amount: int
    currency: str
    amount_display: str
    """``25.00 USD``: the amount in the currency's own decimals."""
    description: str | None
    invoice_id: str | None
    merchant_name: str
    customer_email: str | None
    """Masked: ``a***@example.com``."""
    expires_at: datetime
    payment: LinkPaymentOut | None
    """The latest attempt, if any (a declined card, a payment waiting on 3-D Secure)."""


class LinkIntentCreate(Request):
    """A saved method of the customer (``POST …/methods`` first), or ``provider: "paypal"`` for a
    PayPal checkout (the answer's ``next_action`` is PayPal's approval page)."""

    payment_method_id: ResourceId | None = None
    provider: ProviderLiteral | None = None


class LinkHistoryOut(BaseModel):
    data: list[LinkPaymentOut]


class CardSetupOut(BaseModel):
    client_secret: str
    """For ``stripe.confirmCardSetup`` in the customer's browser."""
