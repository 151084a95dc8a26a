"""A customer's statement on the wire (``documents.statement`` explains the sign convention)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from api.schemas.common import Response


class StatementLineOut(Response):
    at: datetime
    type: str
    """``payment``, ``refund``, ``invoice``, ``credit``, ``deposit`` or ``withdrawal``."""
    reference: str
    """The payment, refund or ledger movement id, or the invoice's number."""
    amount: int
    """Signed, minor units: positive in the customer's favour, negative against them."""
    balance: int
    """The balance after this line."""


class StatementOut(Response):
    model_config = ConfigDict(populate_by_name=True)

    customer_id: str
    currency: str
    from_: datetime | None = Field(serialization_alias="from", validation_alias="start")
    to: datetime = Field(validation_alias="end")
    opening_balance: int
    closing_balance: int
    """Always ``opening_balance`` plus the sum of the lines' amounts."""
    lines: list[StatementLineOut]
    totals: dict[str, int]
    """The lines' sum per type (every type, zero when none) and ``net`` (closing - opening)."""
