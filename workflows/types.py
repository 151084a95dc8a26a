"""Every value that crosses a workflow boundary: inputs, results, state, updates, signals.

Frozen dataclasses and StrEnums only, so Temporal's JSON converter round-trips them exactly and a
workflow can never mutate a value it was handed. Money is always integer minor units plus an
upper-case ISO 4217 code.

Unlike the rest of the code base, this module does not use ``from __future__ import
annotations``: Temporal's converter calls ``typing.get_type_hints`` on a dataclass every time it
decodes one, and string annotations make that evaluate every field's type from its source text
again. Real annotations made decoding a ``PaymentTransition`` about 2.5 times faster; the worker
decodes one for every step of every payment.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
PAYMENT_STATUS = SearchAttributeKey.for_keyword("PaymentStatus")
PROVIDER = SearchAttributeKey.for_keyword("Provider")
AMOUNT_MINOR = SearchAttributeKey.for_int("AmountMinor")
CURRENCY = SearchAttributeKey.for_keyword("Currency")
SUBSCRIPTION_STATUS = SearchAttributeKey.for_keyword("SubscriptionStatus")
SEARCH_ATTRIBUTES = (
    CUSTOMER_ID,
    PAYMENT_STATUS,
    PROVIDER,
    AMOUNT_MINOR,
    CURRENCY,
    SUBSCRIPTION_STATUS,
)
"""Durapay's custom search attributes: registered by ``make dev`` and by the test fixtures."""


class ProviderName(StrEnum):
    STRIPE = "stripe"
    PAYPAL = "paypal"


class PaymentStatus(StrEnum):
    """The public lifecycle of a payment (api-contract.md)."""

    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNDER_REVIEW = "under_review"


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ErrorType(StrEnum):
    """``ApplicationError.type`` values raised by activities and handlers.

    Retry policies name the non-retryable ones, so a retry can only ever repeat a call that might
    succeed the second time.
    """

    PROVIDER_UNAVAILABLE = "ProviderUnavailable"
    PROVIDER_RATE_LIMITED = "ProviderRateLimited"
    PROVIDER_AUTH_FAILED = "ProviderAuthFailed"
    PROVIDER_INVALID_REQUEST = "ProviderInvalidRequest"
    PROVIDER_NOT_AVAILABLE = "ProviderNotAvailable"
    IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
    INVALID_STATE = "InvalidState"
    AMOUNT_EXCEEDS_CAPTURABLE = "AmountExceedsCapturable"
    REFUND_EXCEEDS_AVAILABLE = "RefundExceedsAvailable"
    PLAN_CHANGE_DECLINED = "PlanChangeDeclined"
    PLAN_CURRENCY_MISMATCH = "PlanCurrencyMismatch"
    MAIL_CONTEXT_INVALID = "MailContextInvalid"
    REFUND_NOT_POSSIBLE = "RefundNotPossible"
    """The payment refused a refund or has closed: retrying cannot change that."""
    """A mail that cannot be rendered: a bug no retry can fix."""


NON_RETRYABLE_PROVIDER_ERRORS: tuple[str, ...] = (
    ErrorType.PROVIDER_AUTH_FAILED,
    ErrorType.PROVIDER_INVALID_REQUEST,
)


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


@dataclass(frozen=True)
class IntentResult:
    """What the provider holds for one payment object after a call."""

    reference: str
    status: IntentStatus
    amount: int
    amount_capturable: int = 0
    client_secret: str | None = None
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


@dataclass(frozen=True)
class RoutePlan:
    """Providers to try for a checkout, best first, and the rule that ordered them."""

    candidates: list[ProviderName]
    rule: str


# ---------------------------------------------------------------------------------------------
# Payment workflow
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentTimeouts:
    """Durations the workflow waits, in whole seconds (Temporal's JSON converter has no timedelta);
    passed in so the workflow never reads settings itself."""

    action_seconds: int
    authorization_expiry_seconds: int
    refund_window_seconds: int
    provider_call_seconds: int
    provider_outage_seconds: int = 24 * 3600
    """How long a payment waits in ``processing`` for an unreachable provider before failing."""
    fallback_after_seconds: int = 10
    """How long a checkout's create call is retried before the next provider is tried."""

    @property
    def action(self) -> timedelta:
        return timedelta(seconds=self.action_seconds)

    @property
    def authorization_expiry(self) -> timedelta:
        return timedelta(seconds=self.authorization_expiry_seconds)

    @property
    def refund_window(self) -> timedelta:
        return timedelta(seconds=self.refund_window_seconds)

    @property
    def provider_call(self) -> timedelta:
        return timedelta(seconds=self.provider_call_seconds)

    @property
    def provider_outage(self) -> timedelta:
        return timedelta(seconds=self.provider_outage_seconds)

    @property
    def fallback_after(self) -> timedelta:
        return timedelta(seconds=self.fallback_after_seconds)


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


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retryable: bool
    decline_code: str | None = None


@dataclass(frozen=True)
class NextAction:
    type: str
    client_secret: str | None = None
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
class CaptureRequest:
    """``key`` stands for the caller's Idempotency-Key; the same key must carry the same body."""

    key: str
    request_hash: str
    amount: int | None = None


@dataclass(frozen=True)
class CancelRequest:
    key: str
    request_hash: str


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


# ---------------------------------------------------------------------------------------------
# Payment methods
# ---------------------------------------------------------------------------------------------


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

    @property
    def provider_call_timeout(self) -> timedelta:
        return timedelta(seconds=self.provider_call_timeout_seconds)


@dataclass(frozen=True)
class ProviderCustomerCall:
    provider: ProviderName
    customer_id: str
    email: str
    name: str | None
    idempotency_key: str


@dataclass(frozen=True)
class AttachCall:
    provider: ProviderName
    provider_customer_ref: str
    token: str
    idempotency_key: str


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


# ---------------------------------------------------------------------------------------------
# Mail
# ---------------------------------------------------------------------------------------------


class MailTemplate(StrEnum):
    """The dunning mails, one per stage; each names a template pair under ``templates/mail/``."""

    PAYMENT_FAILED = "payment_failed"
    PAYMENT_FAILED_AGAIN = "payment_failed_again"
    FINAL_NOTICE = "final_notice"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    PAYMENT_RECOVERED = "payment_recovered"


@dataclass(frozen=True)
class MailRequest:
    """One mail to send at most once per ``key``, the outbox dedupe key the workflow chooses
    (``<workflow id>:<stage>``), so a retried or replayed send never mails twice.

    ``context`` fills the template: ``plan_name``, ``amount`` (integer minor units, as a string),
    ``currency`` and ``update_payment_method_url``.
    """

    key: str
    to: str
    template: MailTemplate
    context: dict[str, str]


# ---------------------------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------------------------


class PlanInterval(StrEnum):
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(StrEnum):
    """The public lifecycle of a subscription (api-contract.md)."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    INCOMPLETE = "incomplete"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


@dataclass(frozen=True)
class PlanTerms:
    """A plan as a subscription bills it; copied in, so a catalog edit never changes history."""

    id: str
    name: str
    amount: int
    currency: str
    interval: PlanInterval


@dataclass(frozen=True)
class BillingTerms:
    """Settings a subscription obeys, passed in so the workflow never reads settings itself."""

    payment: PaymentTimeouts
    tax_rate_basis_points: int = 0
    grace_seconds: int = 7 * 24 * 3600
    retry_days: list[int] = field(default_factory=lambda: [3, 7, 14])
    final_status: SubscriptionStatus = SubscriptionStatus.CANCELED
    incomplete_expiry_seconds: int = 23 * 3600
    update_payment_method_url: str = ""


@dataclass(frozen=True)
class PeriodCharge:
    """A payment for (part of) the current period: what a prorated refund gives back from."""

    payment_id: str
    amount: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SubscriptionView:
    """The subscription as the workflow knows it; the database projection mirrors it."""

    id: str
    account_id: str
    customer_id: str
    plan_id: str
    payment_method_id: str | None
    status: SubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    entitled: bool
    latest_invoice_id: str | None
    past_due_since: datetime | None
    paused_at: datetime | None
    canceled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    periods_billed: int = 0
    """Billing periods invoiced so far."""
    billing_anchor: datetime | None = None
    """Where calendar periods are counted from: the first paid period's start, or the resume."""
    anchor_periods: int = 0
    """Periods begun since ``billing_anchor``."""
    invoice_count: int = 0
    """Invoices opened so far, period and plan-change ones alike; numbers the next invoice."""
    credit_balance: int = 0
    """Minor units owed to the customer (a downgrade's unused rest), taken off the next invoices."""
    scheduled_plan: PlanTerms | None = None
    """The plan the next period switches to (a change with ``proration: none``)."""
    period_charges: list[PeriodCharge] = field(default_factory=list)
    """Payments for the current period (its invoice, then any upgrade's)."""


@dataclass(frozen=True)
class SubscriptionInput:
    """Start of one billing-cycle run. ``carried`` is the state handed over by continue-as-new;
    ``None`` on the subscription's very first run."""

    subscription_id: str
    account_id: str
    customer_id: str
    customer_email: str
    plan: PlanTerms
    trial_days: int
    billing: BillingTerms
    created_at: datetime
    payment_method_id: str | None = None
    carried: SubscriptionView | None = None


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: int
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice to open; opening is idempotent by (subscription, period start)."""

    invoice_id: str
    subscription_id: str
    customer_id: str
    account_id: str
    currency: str
    lines: list[InvoiceLine]
    period_start: datetime
    period_end: datetime
    created_at: datetime


@dataclass(frozen=True)
class InvoiceRecord:
    """The invoice as stored: on a repeat, the one opened first, whatever the new draft said."""

    id: str
    amount_due: int
    currency: str
    status: InvoiceStatus
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class InvoiceUpdate:
    invoice_id: str
    status: InvoiceStatus
    amount_paid: int
    attempt_count: int
    next_payment_attempt: datetime | None
    payment_id: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ChargeTargetRequest:
    customer_id: str
    payment_method_id: str | None


@dataclass(frozen=True)
class ChargeTarget:
    """Where an invoice is charged: the saved method's provider and references."""

    payment_method_id: str
    provider: ProviderName
    provider_customer_ref: str | None
    payment_method_ref: str


@dataclass(frozen=True)
class PaymentSettled:
    """Signal from an invoice's PaymentWorkflow to the workflow that started it."""

    payment: PaymentView


@dataclass(frozen=True)
class InvoicePayer:
    """Who an invoice is charged to and on what terms: what a charge needs besides the invoice."""

    account_id: str
    customer_id: str
    subscription_id: str
    timeouts: PaymentTimeouts


@dataclass(frozen=True)
class DunningInput:
    """An unpaid renewal invoice to chase; the workflow ID is ``dun_<invoice id>``."""

    invoice: InvoiceRecord
    payer: InvoicePayer
    customer_email: str
    plan_name: str
    billing: BillingTerms
    payment_method_id: str | None
    first_failure: Failure | None
    """Why the renewal failed; ``None`` when there was no usable payment method at all."""
    failed_at: datetime
    first_attempt: int = 1
    """Attempts already made on the invoice; the dunning workflow numbers its own after these."""


class DunningOutcome(StrEnum):
    RECOVERED = "recovered"
    LOST = "lost"
    """Every retry failed (or no usable method came): the invoice is uncollectible."""
    ABANDONED = "abandoned"
    """The subscription ended first (canceled now); the invoice is void, the case lost."""


@dataclass(frozen=True)
class DunningResult:
    outcome: DunningOutcome
    payment_id: str | None
    attempts: int
    amount_paid: int = 0


@dataclass(frozen=True)
class DunningCaseOpening:
    invoice: InvoiceRecord
    payer: InvoicePayer
    opened_at: datetime


@dataclass(frozen=True)
class DunningCaseClosing:
    invoice_id: str
    recovered: bool
    closed_at: datetime


@dataclass(frozen=True)
class CancelSubscriptionRequest:
    at_period_end: bool
    prorate_refund: bool = False
    """Cancel now and refund the unused part of what was paid for the current period."""


@dataclass(frozen=True)
class UnusedTimeRefund:
    """Refund ``amount`` of ``payment_id`` through the payment's own workflow, once."""

    payment_id: str
    refund_id: str
    amount: int
    reason: str


class Proration(StrEnum):
    """``prorate``: settle the difference now (upgrade charged, downgrade credited to the next
    invoice). ``none``: the new plan starts with the next period."""

    PRORATE = "prorate"
    NONE = "none"


@dataclass(frozen=True)
class PlanChange:
    """Switch a subscription to ``plan``; the API resolves the plan from the catalog."""

    plan: PlanTerms
    proration: Proration = Proration.PRORATE


@dataclass(frozen=True)
class PaymentMethodChange:
    payment_method_id: str
