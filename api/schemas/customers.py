"""Customers and their saved payment methods on the wire; responses are read from the rows'
attributes (``model_validate(row)``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.schemas.common import Metadata, ProviderLiteral, Request


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

    email: Annotated[
        str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ]
    name: Annotated[str, Field(max_length=200)] | None = None
    metadata: Metadata = Field(default_factory=dict)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    """The row's ``metadata_`` (``metadata`` is SQLAlchemy's own attribute of a mapped class)."""
    created_at: datetime


class PaymentMethodCreate(Request):
    provider: ProviderLiteral
    token: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_\-]+$")]


class PaymentMethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    provider: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: datetime
