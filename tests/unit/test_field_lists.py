"""One field list per resource: the ORM columns, the contract type a workflow hands over and the
response model agree, but for the differences listed here, each with its reason.

The projection values are derived from the contract types (``activities/projections.py``); this
test also holds each derivation to its table's columns exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import inspect

from activities.projections import (
    invoice_values,
    payment_method_values,
    payment_values,
    refund_values,
    subscription_values,
)
from api.schemas.customers import CustomerOut, PaymentMethodOut
from api.schemas.invoices import InvoiceLineOut, InvoiceOut
from api.schemas.payments import PaymentOut, RefundOut
from api.schemas.subscriptions import SubscriptionOut
from contracts.billing import InvoiceDraft, InvoiceLine, InvoiceUpdate
from contracts.payment_methods import PaymentMethodRecord
from contracts.payments import Failure, NextAction, PaymentStatus, PaymentView, RefundView
from contracts.providers import CaptureMethod, CardDetails, ProviderName, RefundStatus
from contracts.subscriptions import (
    PeriodCharge,
    PlanInterval,
    PlanTerms,
    SubscriptionStatus,
    SubscriptionView,
)
from db.models import Base, Customer, Invoice, Payment, PaymentMethod, Refund, Subscription

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Resource:
    """How one resource's three field lists relate; every entry maps a name to why it differs."""

    table: type[Base]
    contract: tuple[type, ...]
    response: type[BaseModel]
    renamed: dict[str, str] = field(default_factory=dict)
    """Contract field → ORM attribute."""
    not_stored: dict[str, str] = field(default_factory=dict)
    """Contract fields without a column."""
    stored_only: dict[str, str] = field(default_factory=dict)
    """Columns (ORM attribute names) no contract field fills."""
    not_answered: dict[str, str] = field(default_factory=dict)
    """Columns (by column name: ``metadata``, not ``metadata_``) the response leaves out."""

    def columns(self) -> set[str]:
        return {attribute.key for attribute in inspect(self.table).column_attrs}

    def contract_fields(self) -> set[str]:
        return {f.name for cls in self.contract for f in dataclasses.fields(cls)}

    def response_fields(self) -> set[str]:
        return set(self.response.model_fields)


METADATA = {"metadata": "metadata_"}
"""SQLAlchemy reserves ``metadata`` on a model, so the column's attribute is ``metadata_``."""

RESOURCES = {
    "payments": Resource(
        Payment,
        (PaymentView,),
        PaymentOut,
        renamed=METADATA,
        not_answered={
            "account_id": "the tenant: implied by the API key of every request",
            "request_hash": "stored to refuse an Idempotency-Key reused with another body",
            "version": "orders the projection's writes; a late write never goes back",
        },
    ),
    "refunds": Resource(
        Refund,
        (RefundView,),
        RefundOut,
        stored_only={"updated_at": "a refund is recorded once, with its outcome"},
        not_answered={
            "provider_reference": "the provider's refund id, kept for reconciliation",
            "updated_at": "equals created_at (recorded once)",
        },
    ),
    "subscriptions": Resource(
        Subscription,
        (SubscriptionView,),
        SubscriptionOut,
        renamed={"scheduled_plan": "scheduled_plan_id"},
        not_stored={
            "periods_billed": "billing state carried from run to run by continue-as-new",
            "billing_anchor": "billing state carried from run to run by continue-as-new",
            "anchor_periods": "billing state carried from run to run by continue-as-new",
            "invoice_count": "billing state carried from run to run by continue-as-new",
            "credit_balance": "billing state carried from run to run by continue-as-new",
            "period_charges": "what an unused-time refund gives back from; the workflow's own",
        },
        not_answered={
            "account_id": "the tenant: implied by the API key of every request",
            "paused_at": "kept for operators and reconciliation, not in the public object",
            "canceled_at": "kept for operators and reconciliation, not in the public object",
            "updated_at": "kept for operators and reconciliation, not in the public object",
            "version": "orders the projection's writes; a late write never goes back",
        },
    ),
    "invoices": Resource(
        Invoice,
        (InvoiceDraft, InvoiceUpdate),
        InvoiceOut,
        renamed={"invoice_id": "id"},
        stored_only={
            "amount_due": "the sum of the lines, computed when the invoice is opened",
            "number": "taken from the account's counter in the transaction that opens it",
        },
        not_answered={
            "account_id": "the tenant: implied by the API key of every request",
            "period_start": "each line carries its own period",
            "period_end": "each line carries its own period",
            "payment_id": "the paying payment names the invoice in its metadata",
            "updated_at": "kept for operators and reconciliation, not in the public object",
        },
    ),
    "customers": Resource(
        Customer,
        (),
        CustomerOut,
        stored_only=dict.fromkeys(
            (attribute.key for attribute in inspect(Customer).column_attrs),
            "no workflow hands a customer over: services.customers writes the row itself",
        ),
        not_answered={
            "account_id": "the tenant: implied by the API key of every request",
            "stripe_customer_id": "answered by the export only, naming Stripe's copy of the data",
            "request_hash": "stored to refuse an Idempotency-Key reused with another body",
        },
    ),
    "payment_methods": Resource(
        PaymentMethod,
        (PaymentMethodRecord, CardDetails),
        PaymentMethodOut,
        renamed={"payment_method_id": "id"},
        not_stored={
            "details": "its card fields are stored as columns of their own",
            "provider_customer_ref": "the customer's, stored once on the customer",
        },
        stored_only={
            "is_default": "decided by the repository: a customer's first live method",
            "deleted_at": "set when a method is detached, through the API",
        },
        not_answered={
            "customer_id": "methods are read through their customer",
            "provider_token": "a provider credential; never leaves Durapay",
            "deleted_at": "a detached method is not listed",
        },
    ),
}


@pytest.mark.parametrize("name", RESOURCES)
def test_the_table_holds_the_contract_fields(name: str) -> None:
    resource = RESOURCES[name]
    stored = resource.contract_fields() - set(resource.not_stored)
    expected = {resource.renamed.get(f, f) for f in stored} | set(resource.stored_only)
    assert resource.columns() == expected
    assert set(resource.not_stored) <= resource.contract_fields()


@pytest.mark.parametrize("name", RESOURCES)
def test_the_response_answers_the_columns(name: str) -> None:
    resource = RESOURCES[name]
    columns = {attribute.columns[0].name for attribute in inspect(resource.table).column_attrs}
    assert resource.response_fields() == columns - set(resource.not_answered)
    assert set(resource.not_answered) <= columns


def test_invoice_lines_answer_their_contract_fields() -> None:
    assert set(InvoiceLineOut.model_fields) == {f.name for f in dataclasses.fields(InvoiceLine)}


PAYMENT = PaymentView(
    id="pay_1",
    account_id="acct_1",
    request_hash="hash",
    status=PaymentStatus.FAILED,
    amount=1000,
    currency="EUR",
    amount_capturable=0,
    amount_captured=0,
    amount_refunded=0,
    customer_id="cus_1",
    payment_method_id="pm_1",
    provider=ProviderName.STRIPE,
    provider_reference="pi_1",
    capture_method=CaptureMethod.AUTOMATIC,
    next_action=NextAction(type="redirect_to_url", url="https://pay.example/approve"),
    failure=Failure(code="card_declined", message="declined", retryable=True),
    description=None,
    metadata={"order": "1"},
    created_at=T0,
    updated_at=T0,
    version=2,
    routing_rule="saved payment method at stripe",
)
SUBSCRIPTION = SubscriptionView(
    id="sub_1",
    account_id="acct_1",
    customer_id="cus_1",
    plan_id="plan_1",
    payment_method_id=None,
    status=SubscriptionStatus.ACTIVE,
    current_period_start=T0,
    current_period_end=T0,
    trial_end=None,
    cancel_at_period_end=False,
    entitled=True,
    latest_invoice_id="in_1_0001",
    past_due_since=None,
    paused_at=None,
    canceled_at=None,
    created_at=T0,
    updated_at=T0,
    version=1,
    scheduled_plan=PlanTerms("plan_2", "Pro", 2000, "EUR", PlanInterval.MONTH),
    period_charges=[PeriodCharge("in_1_0001", 1000, T0, T0)],
)


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (Payment, payment_values(PAYMENT)),
        (
            Refund,
            refund_values(
                RefundView("re_1", "pay_1", 500, "EUR", RefundStatus.PENDING, None, T0, "re_x")
            ),
        ),
        (Subscription, subscription_values(SUBSCRIPTION)),
        (
            Invoice,
            invoice_values(
                InvoiceDraft(
                    "in_1_0001",
                    "sub_1",
                    "cus_1",
                    "acct_1",
                    "EUR",
                    [InvoiceLine("Pro", 1000, T0, T0)],
                    T0,
                    T0,
                    T0,
                )
            ),
        ),
        (
            PaymentMethod,
            payment_method_values(
                PaymentMethodRecord(
                    "pm_1", "cus_1", ProviderName.STRIPE, "pm_x", "cus_x", CardDetails("card"), T0
                )
            ),
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_projection_values_fill_every_column_with_plain_values(
    table: type[Base], values: dict[str, Any]
) -> None:
    """Every column but a payment method's ``deleted_at`` (a new method is not detached), and
    enums as their plain values, as both database drivers take them."""
    columns = {attribute.key for attribute in inspect(table).column_attrs}
    assert set(values) == columns - {"deleted_at"}
    assert not any(isinstance(value, Enum) for value in values.values())
