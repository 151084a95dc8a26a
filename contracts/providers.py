"""The provider vocabulary: what a workflow asks Stripe or PayPal, and what it hears back."""

from dataclasses import dataclass
from enum import StrEnum


class ProviderName(StrEnum):
    STRIPE = "stripe"
    PAYPAL = "paypal"


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IntentStatus(StrEnum):
    """A provider payment object's status, normalised across providers."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    DECLINED = "declined"


@dataclass(frozen=True)
class Decline:
    """A provider's refusal: an expected business outcome, never an exception."""

    code: str
    message: str
    decline_code: str | None = None
    advice_code: str | None = None
    """Stripe's ``advice_code``: ``do_not_try_again``, ``try_again_later`` or
    ``confirm_card_data``."""
    network_advice_code: str | None = None
    """The card network's own advice (Mastercard's merchant advice codes: ``01``, ``02``…)."""


@dataclass(frozen=True)
class IntentResult:
    """What the provider holds for one payment object after a call."""

    reference: str
    status: IntentStatus
    amount: int
    amount_capturable: int = 0
    decline: Decline | None = None
    action_url: str | None = None
    """Where the buyer must go to approve (PayPal's approve / payer-action link)."""


@dataclass(frozen=True)
class CreateIntentRequest:
    payment_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    provider_customer_ref: str | None = None
    payment_method_ref: str | None = None
    description: str | None = None
    return_url: str | None = None
    """Where a redirect-based provider sends the buyer back after approving or canceling."""
    request_three_d_secure: bool = False
    """Risk asked for a challenge: Stripe is told to authenticate the card (3-D Secure)."""


@dataclass(frozen=True)
class CreateIntentCall:
    provider: ProviderName
    request: CreateIntentRequest
    idempotency_key: str


@dataclass(frozen=True)
class IntentCall:
    """A call on a provider object the workflow already knows (confirm, capture, cancel, get)."""

    provider: ProviderName
    reference: str
    idempotency_key: str = ""
    amount: int | None = None
    off_session: bool = False
    """A confirm the customer is not present for (a renewal): issuers may then decline rather
    than ask for authentication."""


@dataclass(frozen=True)
class RefundCall:
    provider: ProviderName
    reference: str
    amount: int
    idempotency_key: str
    refund_id: str


@dataclass(frozen=True)
class RefundResult:
    reference: str
    status: RefundStatus
    amount: int


@dataclass(frozen=True)
class CardDetails:
    type: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class AttachResult:
    """Outcome of saving a payment method at the provider: card details or a refusal."""

    details: CardDetails | None = None
    decline: Decline | None = None
    invalid: str | None = None
    reference: str | None = None
    """The reusable provider reference to charge later, when it differs from the token sent
    (PayPal exchanges an approved setup token for a vault payment token)."""


@dataclass(frozen=True)
class RouteRequest:
    """What routing needs to know about a checkout."""

    currency: str
    has_return_url: bool
    amount: int | None = None
    """ISO minor units, so a provider that cannot take the amount exactly is left out (HUF
    10.50 at PayPal); ``None`` in histories recorded before amounts were routed."""


@dataclass(frozen=True)
class RoutePlan:
    """Providers to try for a checkout, best first, and the rule that ordered them."""

    candidates: list[ProviderName]
    rule: str


@dataclass(frozen=True)
class ProviderCustomerCall:
    """The activity reads the customer's email and name from the database: never in Temporal."""

    provider: ProviderName
    customer_id: str
    idempotency_key: str


@dataclass(frozen=True)
class AttachCall:
    provider: ProviderName
    provider_customer_ref: str
    token: str | None
    """``None``: the token held for ``payment_method_id`` (``db.models.held_tokens``)."""
    idempotency_key: str
    payment_method_id: str | None = None
