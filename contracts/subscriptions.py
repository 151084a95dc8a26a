"""A subscription's workflow contract: its input, view, updates and the terms it bills on."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.payments import PaymentTimeouts


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
    plan: PlanTerms
    trial_days: int
    billing: BillingTerms
    created_at: datetime
    payment_method_id: str | None = None
    carried: SubscriptionView | None = None


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
