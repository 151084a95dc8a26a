"""Payments, refunds and a payment's timeline on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import Amount, Metadata, ProviderLiteral, Request
from money import ISO_4217


class PaymentCreate(Request):
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer_id: Annotated[str, Field(min_length=1, max_length=64)]
    payment_method_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    provider: ProviderLiteral | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    description: Annotated[str, Field(max_length=500)] | None = None
    metadata: Metadata = Field(default_factory=dict)
    return_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.upper()
        if code not in ISO_4217:
            raise ValueError("must be an ISO 4217 currency code")
        return code


class CaptureCreate(Request):
    amount: Amount | None = None


class RefundCreate(Request):
    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class NextActionOut(BaseModel):
    type: str
    client_secret: str | None = None
    url: str | None = None


class FailureOut(BaseModel):
    code: str
    decline_code: str | None = None
    message: str
    retryable: bool


class PaymentOut(BaseModel):
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
    risk: dict[str, Any] | None
    description: str | None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, str]


class RefundOut(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    created_at: datetime


class PaymentEventOut(BaseModel):
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime
