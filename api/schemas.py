"""Request and response models: the public API shape (api-contract.md).

Kept apart from workflow types so the wire format can evolve without touching running workflows.
Amounts are ``StrictInt``: ``49.99`` or ``"4999"`` is a validation error, never a rounding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from money import ISO_4217, MAX_AMOUNT

T = TypeVar("T")

Metadata = Annotated[
    dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=500)]],
    Field(max_length=50),
]
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
ProviderLiteral = Literal["stripe", "paypal"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool


# ------------------------------------------------------------------ customers


class CustomerCreate(Request):
    email: Annotated[
        str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ]
    name: Annotated[str, Field(max_length=200)] | None = None
    metadata: Metadata = Field(default_factory=dict)


class CustomerOut(BaseModel):
    id: str
    email: str
    name: str | None
    metadata: dict[str, str]
    created_at: datetime


class PaymentMethodCreate(Request):
    provider: ProviderLiteral
    token: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_\-]+$")]


class PaymentMethodOut(BaseModel):
    id: str
    provider: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: datetime


# ------------------------------------------------------------------ payments


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


# ------------------------------------------------------------------ plans and invoices


class PlanOut(BaseModel):
    id: str
    name: str
    amount: int
    currency: str
    interval: str
    trial_days: int


class InvoiceLineOut(BaseModel):
    description: str
    amount: int
    period_start: datetime
    period_end: datetime


class InvoiceOut(BaseModel):
    id: str
    subscription_id: str
    customer_id: str
    amount_due: int
    amount_paid: int
    currency: str
    status: str
    lines: list[InvoiceLineOut]
    attempt_count: int
    next_payment_attempt: datetime | None
    created_at: datetime


# ------------------------------------------------------------------ subscriptions

ResourceId = Annotated[str, Field(min_length=1, max_length=64)]


class SubscriptionCreate(Request):
    customer_id: ResourceId
    plan_id: ResourceId
    payment_method_id: ResourceId | None = None
    trial_days: Annotated[StrictInt, Field(ge=0, le=730)] | None = None
    """Omitted: the plan's own trial; ``0``: no trial, the first period is charged at once."""


class PlanChangeCreate(Request):
    plan_id: ResourceId
    proration: Literal["prorate", "none"] = "prorate"


class SubscriptionCancel(Request):
    at_period_end: bool = False
    prorate_refund: bool = False
    """Cancel now and refund the unused part of the current period (not with ``at_period_end``)."""

    @model_validator(mode="after")
    def _refund_only_when_ending_now(self) -> SubscriptionCancel:
        if self.at_period_end and self.prorate_refund:
            raise ValueError("prorate_refund applies to a cancel now, not at_period_end")
        return self


class SubscriptionPaymentMethod(Request):
    payment_method_id: ResourceId


class SubscriptionOut(BaseModel):
    id: str
    status: str
    plan_id: str
    scheduled_plan_id: str | None
    """The plan the next period switches to, after a change with ``proration: none``."""
    customer_id: str
    payment_method_id: str | None
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    entitled: bool
    latest_invoice_id: str | None
    past_due_since: datetime | None
    created_at: datetime
