"""Payments, refunds and a payment's timeline on the wire.

Response models are read from attributes (``model_validate(obj)``): the same model takes the
database projection (``db.models.Payment``) and the workflow's view (``contracts.payments
.PaymentView``), whose public fields share their names; internal fields (``version``,
``request_hash``) are not declared, so never answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, computed_field

from api.schemas.common import (
    Amount,
    Currency,
    Description,
    Metadata,
    ProviderLiteral,
    Request,
    ResourceId,
    Response,
)
from contracts.payments import receipt_path


class PaymentCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": 4999,
                    "currency": "usd",
                    "customer_id": "cus_8f3a2b1c9d0e4f56",
                    "payment_method_id": "pm_1a2b3c4d5e6f7a8b",
                    "capture_method": "automatic",
                    "description": "Order 1042",
                    "metadata": {"order_id": "1042"},
                },
                {
                    "amount": 12000,
                    "currency": "eur",
                    "customer_id": "cus_8f3a2b1c9d0e4f56",
                    "provider": "paypal",
                    "return_url": "https://shop.example/checkout/done",
                },
            ]
        }
    )
    """A saved-method payment, then a PayPal checkout (the buyer approves it at ``next_action``)."""

    amount: Amount
    currency: Currency
    customer_id: ResourceId
    payment_method_id: ResourceId | None = None
    provider: ProviderLiteral | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)
    return_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    receipt_email: bool = False
    """Mail the customer the receipt (PDF attached) once the payment succeeds."""


class CaptureCreate(Request):
    amount: Amount | None = None


class RefundCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount": 1500, "reason": "requested_by_customer"}, {}]}
    )
    """Part of the payment, then (no amount) all that is left to refund."""

    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class NextActionOut(Response):
    type: str
    client_secret: str | None = None
    url: str | None = None


class FailureOut(Response):
    code: str
    decline_code: str | None = None
    message: str
    retryable: bool


class RiskFactorOut(Response):
    code: str
    points: int
    detail: str


class RiskOut(Response):
    """The score and decision a payment got before any money moved (README "Risk")."""

    score: int
    level: Literal["low", "elevated", "high", "highest"]
    decision: Literal["approve", "challenge", "review", "block"]
    factors: list[RiskFactorOut]


class PaymentOut(Response):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    status: str
    amount: int
    currency: str
    amount_capturable: int
    amount_captured: int
    amount_refunded: int
    customer_id: str
    payment_method_id: str | None
    provider: str | None
    provider_reference: str | None
    routing_rule: str | None = None
    capture_method: str
    next_action: NextActionOut | None
    failure: FailureOut | None
    risk: RiskOut | None = None
    """None for a payment that was not scored (an invoice's)."""
    description: str | None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    """The row's ``metadata_`` (``metadata`` is SQLAlchemy's own attribute of a mapped class),
    or the view's ``metadata``."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def receipt_url(self) -> str | None:
        """Where a succeeded payment's receipt is read (HTML; ``?format=pdf`` for the PDF),
        relative to the API's base URL; null until the payment succeeded."""
        return receipt_path(self.id, self.status)


class RefundOut(Response):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    created_at: datetime


class PaymentEventOut(Response):
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime
