"""Reconciliation: what the providers hold compared with what Durapay recorded, and what was done
about each difference. Also the operator's retry of an invoice in dunning."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.durations import Seconds
from contracts.providers import ProviderName

RECONCILIATION_SCHEDULE_ID = "durapay-reconciliation"
"""The one Schedule that starts reconciliation runs; created idempotently at deploy time."""

SCHEDULED_RUN_PREFIX = "rec_scheduled"
"""Workflow ID prefix of the runs the Schedule starts (Temporal appends the start time)."""


class ProviderObjectKind(StrEnum):
    INTENT = "intent"
    """A payment object that may not have moved money yet (a Stripe PaymentIntent)."""
    CHARGE = "charge"
    """Money moved: a Stripe charge, a PayPal capture transaction."""
    REFUND = "refund"
    """Money given back: a Stripe refund, a PayPal refund transaction."""


@dataclass(frozen=True)
class ProviderObject:
    """One object a provider holds, normalised. ``intent_reference`` is what Durapay records as a
    payment's provider reference (the PaymentIntent, the PayPal order); ``tag`` is the payment ID
    Durapay wrote on the object when it created it, if any."""

    provider: ProviderName
    kind: ProviderObjectKind
    reference: str
    status: str
    amount: int
    currency: str
    created_at: datetime
    intent_reference: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ProviderListing:
    provider: ProviderName
    since: datetime


class DriftKind(StrEnum):
    UNOWNED_CHARGE = "unowned_charge"
    """Money moved at the provider and no payment owns it."""
    UNOWNED_REFUND = "unowned_refund"
    """Money given back at the provider that no Durapay refund records."""
    UNOWNED_AUTHORIZATION = "unowned_authorization"
    """An authorization (or a charge in flight) that no payment owns."""
    ORPHAN_INTENT = "orphan_intent"
    """An intent never confirmed that no payment owns (a create repeated after a crash)."""
    STALE_STATUS = "stale_status"
    """The owning payment is still open and records another status than the provider."""
    STATUS_MISMATCH = "status_mismatch"
    """The owning payment is finished and records another status than the provider."""
    UNMATCHED_EVENT = "unmatched_event"
    """A stored provider webhook that matched no payment when it arrived."""


class DriftAction(StrEnum):
    ALERTED = "alerted"
    CANCELED = "canceled"
    SIGNALED = "signaled"
    REDELIVERED = "redelivered"


@dataclass(frozen=True)
class Drift:
    """One difference found and what was done about it. IDs and amounts only."""

    kind: DriftKind
    action: DriftAction
    provider: ProviderName
    reference: str
    amount: int = 0
    currency: str = ""
    payment_id: str | None = None
    account_id: str | None = None
    provider_status: str = ""
    recorded_status: str = ""


@dataclass(frozen=True)
class ComparisonRequest:
    objects: list[ProviderObject]
    orphan_grace_seconds: int
    now: datetime

    orphan_grace = Seconds()


@dataclass(frozen=True)
class StoredEvent:
    """A stored provider webhook that once matched nothing, with the payment it matches now."""

    provider: ProviderName
    event_id: str
    event_type: str
    reference: str
    payment_id: str | None


@dataclass(frozen=True)
class ReconciliationInput:
    """What a run needs besides the clock: how far back the first run looks, how old an
    unowned, unconfirmed intent must be before it is canceled, which providers to ask, and the
    account whose operators are alerted about what no account owns (a charge made outside
    Durapay belongs to nobody here)."""

    operator_account: str
    first_lookback_seconds: int = 24 * 3600
    orphan_grace_seconds: int = 15 * 60
    clock_skew_seconds: int = 300
    providers: list[ProviderName] = field(
        default_factory=lambda: [ProviderName.STRIPE, ProviderName.PAYPAL]
    )

    first_lookback = Seconds()
    orphan_grace = Seconds()
    clock_skew = Seconds()


@dataclass(frozen=True)
class RunOpening:
    run_id: str
    started_at: datetime
    first_lookback_seconds: int

    first_lookback = Seconds()


@dataclass(frozen=True)
class RunClosing:
    run_id: str
    finished_at: datetime
    checked: int
    drift: list[Drift]
    watermark: datetime
    """Where the next run starts listing: this run's start (less the clock-skew margin there)."""


@dataclass(frozen=True)
class ReconciliationResult:
    run_id: str
    checked: int
    drift: list[Drift]


@dataclass(frozen=True)
class LostChargeLookup:
    """Find the charge a create may have made when its answers were lost: the provider object
    tagged with ``payment_id`` since ``created_at``. ``gave_up_at`` is when the workflow stopped
    sending the create; a search that finds nothing is final only once the provider's own
    search has caught up with that moment."""

    provider: ProviderName
    payment_id: str
    created_at: datetime
    gave_up_at: datetime


@dataclass(frozen=True)
class InvoiceRetryRequest:
    """An operator's ``retry_now``: ``key`` is the Idempotency-Key (or the UI's update id)."""

    key: str


class InvoiceRetryOutcome(StrEnum):
    PAID = "paid"
    FAILED = "failed"
    """Charged now and declined (or no usable payment method); dunning carries on."""


@dataclass(frozen=True)
class InvoiceRetryResult:
    """``joined`` is True when the retry found a charge in flight and waited for its outcome
    instead of charging again."""

    invoice_id: str
    outcome: InvoiceRetryOutcome
    attempts: int
    payment_id: str | None
    joined: bool
