"""Row values of the projections, derived from the contract types the workflows hand over.

One field list per resource: a view's fields become the row's columns by name, enums as their
values and nested dataclasses as JSON objects. What differs is said here, once per resource: state
a workflow keeps for itself, a field the ORM must name otherwise (``metadata_``: SQLAlchemy
reserves ``metadata`` on a model), and columns no view has. ``tests/unit/test_field_lists.py``
holds the ORM models, the contract types and the response models to the same lists.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from contracts.billing import InvoiceDraft, InvoiceStatus
from contracts.payment_methods import PaymentMethodRecord
from contracts.payments import PaymentView, RefundView
from contracts.subscriptions import SubscriptionView

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ORM_RENAMED = {"metadata": "metadata_"}
"""Fields whose ORM attribute has another name."""

SUBSCRIPTION_CARRIED = frozenset(
    {
        "periods_billed",
        "billing_anchor",
        "anchor_periods",
        "invoice_count",
        "credit_balance",
        "scheduled_plan",
        "period_charges",
    }
)
"""Billing state a subscription carries from run to run (continue-as-new), not projected;
``scheduled_plan`` is, as ``scheduled_plan_id``."""


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def _column_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def columns_of(
    view: DataclassInstance,
    *,
    left_out: Collection[str] = (),
    renamed: Mapping[str, str] = ORM_RENAMED,
) -> dict[str, Any]:
    """``view``'s fields as column values by ORM attribute name, but for those ``left_out``."""
    return {
        renamed.get(name, name): _column_value(getattr(view, name))
        for name in _field_names(type(view))
        if name not in left_out
    }


def payment_values(view: PaymentView) -> dict[str, Any]:
    """The ``payments`` row of one workflow view."""
    assert view.provider is not None, "a payment is recorded only once routed"
    return columns_of(view)


def refund_values(refund: RefundView) -> dict[str, Any]:
    """The ``refunds`` row: a refund is recorded once, with its outcome, so it was last updated
    when it was made."""
    return columns_of(refund) | {"updated_at": refund.created_at}


def subscription_values(view: SubscriptionView) -> dict[str, Any]:
    """The ``subscriptions`` row of one workflow view."""
    scheduled = view.scheduled_plan.id if view.scheduled_plan else None
    return columns_of(view, left_out=SUBSCRIPTION_CARRIED) | {"scheduled_plan_id": scheduled}


def invoice_values(draft: InvoiceDraft) -> dict[str, Any]:
    """The ``invoices`` row of a new invoice: open, unpaid, first attempt due at once. Line
    periods are stored as ISO 8601 strings (a JSON column)."""
    return columns_of(draft, left_out={"lines"}, renamed={"invoice_id": "id"}) | {
        "amount_due": sum(line.amount for line in draft.lines),
        "amount_paid": 0,
        "status": InvoiceStatus.OPEN.value,
        "lines": [
            columns_of(line)
            | {
                "period_start": line.period_start.isoformat(),
                "period_end": line.period_end.isoformat(),
            }
            for line in draft.lines
        ],
        "attempt_count": 0,
        "next_payment_attempt": draft.created_at,
        "payment_id": None,
        "number": None,
        "updated_at": draft.created_at,
    }


def payment_method_values(record: PaymentMethodRecord) -> dict[str, Any]:
    """The ``payment_methods`` row of a newly attached method; the card's details are columns.
    The provider customer is the customer's (``customers``), not the method's."""
    return columns_of(
        record,
        left_out={"details", "provider_customer_ref"},
        renamed={"payment_method_id": "id"},
    ) | {**columns_of(record.details), "is_default": False}
