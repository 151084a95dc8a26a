"""Saving a payment method: the ``AttachPaymentMethodWorkflow``'s input and result."""

from dataclasses import dataclass
from datetime import datetime

from contracts.durations import Seconds
from contracts.providers import CardDetails, Decline, ProviderName


@dataclass(frozen=True)
class AttachPaymentMethodInput:
    payment_method_id: str
    customer_id: str
    customer_email: str
    customer_name: str | None
    provider_customer_ref: str | None
    provider: ProviderName
    token: str
    provider_call_timeout_seconds: int
    provider_call_timeout = Seconds()


@dataclass(frozen=True)
class PaymentMethodRecord:
    payment_method_id: str
    customer_id: str
    provider: ProviderName
    provider_token: str
    provider_customer_ref: str
    details: CardDetails
    created_at: datetime


@dataclass(frozen=True)
class AttachPaymentMethodResult:
    payment_method_id: str
    attached: bool
    decline: Decline | None = None
    invalid: str | None = None
