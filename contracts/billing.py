"""Invoices and dunning: what a subscription's billing cycle and its dunning child exchange."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts.payments import Failure, PaymentTimeouts
from contracts.providers import ProviderName
from contracts.subscriptions import BillingTerms


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


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
