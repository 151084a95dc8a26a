"""Typed SQLAlchemy models. The payments table is a projection of workflow state for fast reads;
the workflow stays the source of truth for what may happen next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_scheme: Mapped[str] = mapped_column(String(16), default="hmac-sha256")
    """``hmac-sha256`` (keyed with ``DURAPAY_API_KEY_SECRET``), or ``sha256`` for a key issued
    before migration 0013 and not used since (its first use moves it to the keyed hash)."""
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    """Set when the key is rolled: the old secret keeps working until then."""
    last_used_at: Mapped[datetime | None]
    """Recorded at most once a minute per key (``services.api_keys.LAST_USED_PRECISION``)."""
    revoked_at: Mapped[datetime | None]


class Customer(Base):
    """A customer of an account. Erasure empties ``email``, ``name`` and ``metadata`` and sets
    ``erased_at``; the row stays, so the payments, invoices and subscriptions that point at it
    keep their meaning."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_account_created", "account_id", "created_at"),
        Index("ix_customers_account_email", "account_id", "email"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    kyc_tier: Mapped[str | None] = mapped_column(String(16))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    """Fingerprint of the create body when an Idempotency-Key made the customer: the same key
    with another body is refused. Cleared by erasure (it is a hash of the email and name)."""
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]

    def reference_at(self, provider: str) -> str | None:
        """This customer's reference at ``provider``: Stripe keeps its own customer object
        (created on first use); PayPal's vault is keyed by our customer id."""
        return self.stripe_customer_id if provider == "stripe" else self.id


class PaymentMethod(Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_token: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    payment_method_id: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(16))
    provider_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    amount_capturable: Mapped[int] = mapped_column(BigInteger)
    amount_captured: Mapped[int] = mapped_column(BigInteger)
    amount_refunded: Mapped[int] = mapped_column(BigInteger)
    capture_method: Mapped[str] = mapped_column(String(16))
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    request_hash: Mapped[str] = mapped_column(String(64))
    routing_rule: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaymentEvent(Base):
    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("payment_id", "seq", name="uq_payment_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class ProviderHealth(Base):
    """Circuit state per provider, shared by every worker, read by ``/health`` and ``/metrics``."""

    __tablename__ = "provider_health"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    open_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_events_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))


class Plan(Base):
    """A catalog plan, written only by ``db.catalog.load_plan_catalog`` from the versioned file.

    ``catalog_version`` is the version of the file that last wrote the row, so an older build still
    running during a deploy cannot put back prices a newer catalog changed.
    """

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))
    trial_days: Mapped[int] = mapped_column(Integer)
    catalog_version: Mapped[int] = mapped_column(Integer)


class Subscription(Base):
    """Projection of a SubscriptionWorkflow's state for fast reads; ``version`` only grows, so a
    late or repeated write never puts an older state back (as for payments)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    scheduled_plan_id: Mapped[str | None] = mapped_column(String(64))
    """The plan the next period switches to (a change with ``proration: none``)."""
    payment_method_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    trial_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean)
    entitled: Mapped[bool] = mapped_column(Boolean)
    latest_invoice_id: Mapped[str | None] = mapped_column(String(64))
    past_due_since: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Invoice(Base):
    """One billing period of one subscription. The unique (subscription, period start) pair is
    what makes a retried or replayed billing cycle find its invoice instead of issuing a second."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period_start", name="uq_invoices_period"),
        UniqueConstraint("account_id", "number", name="uq_invoices_number"),
        Index("ix_invoices_account_created", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    attempt_count: Mapped[int] = mapped_column(Integer)
    next_payment_attempt: Mapped[datetime | None]
    payment_id: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(32))
    """``INV-<year>-<6 digits>``, gapless per account and year, given when the invoice opens."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DunningCase(Base):
    """An unpaid invoice being chased: one per invoice, id ``dun_<invoice>`` as its workflow's."""

    __tablename__ = "dunning_cases"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class MailOutbox(Base):
    """Every mail Durapay sends, under the sender's dedupe ``key``: the row is written before the
    SMTP call and marked ``sent`` after it, so a retried send finds it and does not mail again."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


from db.models.alerts import Alert  # noqa: E402
from db.models.audit import AuditEntry, AuditHead  # noqa: E402
from db.models.documents import InvoiceNumberCounter, MailAttachment, ReceiptRequest  # noqa: E402
from db.models.held_tokens import HeldPaymentMethodToken  # noqa: E402
from db.models.ledger import (  # noqa: E402
    LedgerAccount,
    LedgerEntry,
    LedgerFunding,
    LedgerTransaction,
    WalletWithdrawal,
    WithdrawalRefund,
)
from db.models.reconciliation import ReconciliationRun  # noqa: E402
from db.models.risk import LimitCounter, LimitUsage, RiskRuleSet  # noqa: E402
from db.models.webhook_security import PaypalTransmission  # noqa: E402
from db.models.webhooks_out import Event, WebhookDelivery, WebhookEndpoint  # noqa: E402

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Customer",
    "DunningCase",
    "Event",
    "HeldPaymentMethodToken",
    "Invoice",
    "InvoiceNumberCounter",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerFunding",
    "LedgerTransaction",
    "LimitCounter",
    "LimitUsage",
    "MailAttachment",
    "MailOutbox",
    "Payment",
    "PaymentEvent",
    "PaymentLink",
    "PaymentMethod",
    "PaypalTransmission",
    "Plan",
    "ProviderHealth",
    "ReceiptRequest",
    "ReconciliationRun",
    "Refund",
    "RiskRuleSet",
    "Subscription",
    "UTCDateTime",
    "WalletWithdrawal",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WithdrawalRefund",
]
from db.models.links import PaymentLink  # noqa: E402
