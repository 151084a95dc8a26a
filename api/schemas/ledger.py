"""Credits, wallets and the ledger check on the wire (api-contract.md "Credits and wallet").

Credit amounts are whole credits; wallet amounts are the currency's minor units. A credit
transaction's ``credits`` is signed as it changed the customer's balance (a consume is negative).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
)

from api.schemas.common import Amount, Currency, Request, ResourceId, Response

Credits = Annotated[StrictInt, Field(gt=0, le=1_000_000_000)]

_CREDIT_TYPES = {
    "credit_purchase": "purchase",
    "credit_consume": "consume",
    "credit_transfer": "transfer",
}


class CreditPurchaseCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credits": 5000, "payment_method_id": "pm_1a2b3c4d"}]}
    )

    credits: Credits
    payment_method_id: ResourceId


class CreditConsumeCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credits": 20, "reason": "api_call"}]}
    )

    credits: Credits
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class CreditTransferCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to_customer_id": "cus_8f3a2b1c", "credits": 100}]}
    )

    to_customer_id: ResourceId
    credits: Credits


class CreditsOut(Response):
    balance: int
    lifetime_purchased: int
    lifetime_consumed: int


class CreditPurchaseOut(Response):
    """A purchase: ``pending`` until its payment settles, then ``succeeded`` (credits granted)
    or ``failed``."""

    id: str
    type: Literal["purchase"] = "purchase"
    credits: int = Field(validation_alias="amount")
    payment_id: str
    status: Literal["pending", "succeeded", "failed"]
    created_at: datetime


class CreditTransactionOut(Response):
    """One movement of the customer's credits, read from a ledger transaction."""

    id: str = Field(validation_alias=AliasPath("transaction", "id"))
    type: Literal["purchase", "consume", "transfer"] = Field(
        validation_alias=AliasPath("transaction", "type")
    )
    credits: int = Field(validation_alias="amount")
    details: dict[str, Any] = Field(validation_alias=AliasPath("transaction", "details"))
    """``reason`` of a consume, ``from_customer_id``/``to_customer_id`` of a transfer,
    ``payment_id`` of a purchase."""
    created_at: datetime = Field(validation_alias=AliasPath("transaction", "created_at"))

    @field_validator("type", mode="before")
    @classmethod
    def _public_type(cls, value: str) -> str:
        return _CREDIT_TYPES.get(value, value)


class DepositCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"amount": 10000, "currency": "usd", "payment_method_id": "pm_1a2b"}]
        }
    )

    amount: Amount
    currency: Currency
    payment_method_id: ResourceId


class WithdrawalCreate(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": 3000, "currency": "usd"}]})

    amount: Amount
    currency: Currency


class WalletBalanceOut(Response):
    currency: str
    available: int
    locked: int
    total: int


class WalletOut(BaseModel):
    data: list[WalletBalanceOut]


class WithdrawalOut(Response):
    """``pending`` while its refunds run; ``succeeded`` (all paid back) or ``failed`` (what was
    not refunded went back to available; ``refunded`` says how much was)."""

    id: str
    status: Literal["pending", "succeeded", "failed"]
    amount: int
    currency: str
    refunded: int
    created_at: datetime


class WalletTransactionOut(Response):
    id: str
    type: Literal["deposit", "withdrawal"]
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed"]
    payment_id: str | None
    """The deposit's payment."""
    refunded: int | None
    """What a withdrawal has paid back so far."""
    created_at: datetime


class LedgerCheckOut(Response):
    """The caller's account's books: ``imbalanced`` lists transactions whose entries do not sum
    to zero in some currency; ``mismatched_balances`` and ``negative_balances`` list ledger
    accounts whose cached balance differs from their entries, or a customer's below zero."""

    ok: bool
    transactions: int
    imbalanced: list[str]
    mismatched_balances: list[str]
    negative_balances: list[str]
