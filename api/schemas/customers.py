"""Customers and their saved payment methods on the wire; responses are read from the rows'
attributes (``model_validate(row)``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from api.schemas.common import Metadata, ProviderLiteral, Request, Response
from api.schemas.invoices import InvoiceOut
from api.schemas.ledger import (
    CreditPurchaseOut,
    CreditsOut,
    CreditTransactionOut,
    WalletBalanceOut,
    WalletTransactionOut,
)
from api.schemas.payments import PaymentOut, RefundOut
from api.schemas.subscriptions import SubscriptionOut

Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Name = Annotated[str, Field(max_length=200)]
KycTier = Literal["basic", "intermediate", "advanced"]
"""The tier a customer's payment limits follow (api-contract.md, "Limits")."""


class CustomerCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "metadata": {"crm_id": "4711"},
                }
            ]
        }
    )

    email: Email
    name: Name | None = None
    metadata: Metadata = Field(default_factory=dict)
    kyc_tier: KycTier | None = None


class CustomerUpdate(Request):
    """Only the fields sent change: ``null`` clears ``name`` or ``kyc_tier``, ``metadata``
    replaces the whole mapping. The email cannot be removed (erase the customer instead)."""

    email: Email | SkipJsonSchema[None] = None
    name: Name | None = None
    metadata: Metadata | SkipJsonSchema[None] = None
    kyc_tier: KycTier | None = None

    @field_validator("email", "metadata")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Runs only for fields sent: left out, they stay as they are (``None`` is only the
        "left out" default, which is why the schema does not offer it)."""
        if value is None:
            raise ValueError("may be left out, not null")
        return value


class CustomerOut(Response):
    id: str
    email: str | None
    """``null`` once the customer is erased, as ``name``."""
    name: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    """The row's ``metadata_`` (``metadata`` is SQLAlchemy's own attribute of a mapped class)."""
    kyc_tier: KycTier | None
    created_at: datetime
    erased_at: datetime | None


class PaymentMethodCreate(Request):
    provider: ProviderLiteral
    token: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_\-]+$")]


class PaymentMethodOut(Response):
    id: str
    provider: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: datetime


class ExportedPaymentMethodOut(PaymentMethodOut):
    deleted_at: datetime | None
    """Deleted methods are exported too: Durapay still holds them for the payments they made."""


class MailOut(Response):
    """A mail Durapay sent (or tried to send) the customer."""

    to: str = Field(validation_alias=AliasChoices("to_address", "to"))
    template: str
    subject: str
    status: str
    created_at: datetime
    sent_at: datetime | None


class CustomerExportOut(Response):
    """Everything Durapay holds about one customer, each list newest first. Audit entries are
    not part of Durapay yet; they join this export when they are."""

    customer: CustomerOut
    stripe_customer_id: str | None
    """The customer object at Stripe, which keeps its own copy of the email and name."""
    payment_methods: list[ExportedPaymentMethodOut]
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    subscriptions: list[SubscriptionOut]
    invoices: list[InvoiceOut]
    mails: list[MailOut]
    credits: CreditsOut
    credit_transactions: list[CreditTransactionOut]
    credit_purchases: list[CreditPurchaseOut]
    wallet: list[WalletBalanceOut]
    wallet_transactions: list[WalletTransactionOut]
