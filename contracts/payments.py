"""A payment's workflow contract: its input, the view every reader shares, updates and signals."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.durations import Seconds
from contracts.providers import CaptureMethod, ProviderName, RefundStatus
from contracts.risk import RiskAssessment, RiskTerms


class PaymentStatus(StrEnum):
    """The public lifecycle of a payment (api-contract.md)."""

    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNDER_REVIEW = "under_review"


@dataclass(frozen=True)
class PaymentTimeouts:
    """Durations the workflow waits, passed in so the workflow never reads settings itself: whole
    seconds on the wire, a ``timedelta`` each to the workflow (``contracts.durations``)."""

    action_seconds: int
    authorization_expiry_seconds: int
    refund_window_seconds: int
    provider_call_seconds: int
    provider_outage_seconds: int = 24 * 3600
    """How long a payment waits in ``processing`` for an unreachable provider before failing."""
    fallback_after_seconds: int = 10
    """How long a checkout's create call is retried before the next provider is tried."""

    action = Seconds()
    authorization_expiry = Seconds()
    refund_window = Seconds()
    provider_call = Seconds()
    provider_outage = Seconds()
    fallback_after = Seconds()


@dataclass(frozen=True)
class PaymentInput:
    payment_id: str
    account_id: str
    request_hash: str
    amount: int
    currency: str
    customer_id: str
    provider: ProviderName | None
    """``None`` for a checkout the routing rules place (see ``activities/providers/routing.py``)."""
    capture_method: CaptureMethod
    timeouts: PaymentTimeouts
    created_at: datetime
    payment_method_id: str | None = None
    provider_customer_ref: str | None = None
    payment_method_ref: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    return_url: str | None = None
    provider_customer_refs: dict[str, str] = field(default_factory=dict)
    """The customer's reference at each provider routing may choose, by provider name."""
    notify_workflow_id: str | None = None
    """A workflow (subscription or dunning) told by a ``payment_settled`` signal whenever this
    payment's status changes past ``processing``: it cannot wait on the result, because the
    payment stays open for its refund window long after it has settled."""
    merchant_initiated: bool = False
    """Charged without the customer present (an invoice): the provider is told it is off-session."""
    risk: RiskTerms | None = None
    """Scored and limited by these when set (``POST /v1/payments``); an invoice's payment is not."""


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retryable: bool
    decline_code: str | None = None
    advice: str | None = None
    """The issuer's advice on trying again (``workflows/policies/issuer_advice.py``), if any."""


@dataclass(frozen=True)
class NextAction:
    """What the buyer must do. Stripe's ``client_secret`` is no part of it: it never enters
    Temporal, and the API reads it from Stripe when it answers (``services.client_secrets``)."""

    type: str
    url: str | None = None


@dataclass(frozen=True)
class RefundView:
    id: str
    payment_id: str
    amount: int
    currency: str
    status: RefundStatus
    reason: str | None
    created_at: datetime
    provider_reference: str | None = None


@dataclass(frozen=True)
class PaymentView:
    """The payment as the workflow knows it; the database projection mirrors exactly this."""

    id: str
    account_id: str
    request_hash: str
    status: PaymentStatus
    amount: int
    currency: str
    amount_capturable: int
    amount_captured: int
    amount_refunded: int
    customer_id: str
    payment_method_id: str | None
    provider: ProviderName | None
    """``None`` only before routing has chosen; never recorded that way."""
    provider_reference: str | None
    capture_method: CaptureMethod
    next_action: NextAction | None
    failure: Failure | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    version: int
    routing_rule: str | None = None
    """Why ``provider`` was chosen, in words an operator can check against the settings."""
    risk: RiskAssessment | None = None
    """The score and decision the payment got before any money moved (none: not scored)."""


@dataclass(frozen=True)
class PaymentState:
    """What the ``state`` query answers: the recorded payment and what the workflow is doing."""

    payment: PaymentView
    step: str
    refunds: list[RefundView]


@dataclass(frozen=True)
class SettleRequest:
    """Update sent by every ``POST /v1/payments``: wait until the payment leaves ``processing``."""

    request_hash: str


@dataclass(frozen=True)
class SettleResult:
    payment: PaymentView
    created: bool


@dataclass(frozen=True)
class KeyedRequest:
    """An update made once per Idempotency-Key (``key``); the same key must carry the same body."""

    key: str
    request_hash: str


@dataclass(frozen=True)
class CaptureRequest(KeyedRequest):
    amount: int | None = None
    """All that is capturable when ``None``."""


@dataclass(frozen=True)
class CancelRequest(KeyedRequest):
    """Cancel before money moved."""


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    request_hash: str
    amount: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider webhook, forwarded by the API as a signal."""

    provider: ProviderName
    event_id: str
    event_type: str
    reference: str


@dataclass(frozen=True)
class PaymentTransition:
    """One state change to persist: the new view plus the timeline entry explaining it."""

    payment: PaymentView
    event_type: str
    detail: dict[str, str | int | None] = field(default_factory=dict)
    refund: RefundView | None = None


@dataclass(frozen=True)
class PaymentSettled:
    """Signal from an invoice's PaymentWorkflow to the workflow that started it."""

    payment: PaymentView


def receipt_path(payment_id: str, status: str) -> str | None:
    """Where a succeeded payment's receipt is read, relative to the API's base URL: the same in
    the API's answer and in the merchant event that carries the payment."""
    return f"/v1/payments/{payment_id}/receipt" if status == PaymentStatus.SUCCEEDED else None
