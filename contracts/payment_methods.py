"""Saving a payment method: the ``AttachPaymentMethodWorkflow``'s input and result.

No personal data and no token crosses into Temporal: the customer's email and name are read by
the activity that needs them, and the client's token is held in the database under the method's
id (``db.models.held_tokens``) for the attach activity to read."""

from dataclasses import dataclass
from datetime import datetime

from contracts.durations import Seconds
from contracts.providers import CardDetails, Decline, ProviderName


@dataclass(frozen=True)
class AttachPaymentMethodInput:
    payment_method_id: str
    customer_id: str
    provider_customer_ref: str | None
    provider: ProviderName
    provider_call_timeout_seconds: int
    provider_call_timeout = Seconds()
    token: str | None = None
    """Only in workflows started before tokens were held in the database; ``None`` since."""


@dataclass(frozen=True)
class PaymentMethodRecord:
    payment_method_id: str
    customer_id: str
    provider: ProviderName
    provider_token: str | None
    """``None``: the reusable reference is the held one (``db.models.held_tokens``)."""
    provider_customer_ref: str
    details: CardDetails
    created_at: datetime


@dataclass(frozen=True)
class AttachPaymentMethodResult:
    payment_method_id: str
    attached: bool
    decline: Decline | None = None
    invalid: str | None = None
