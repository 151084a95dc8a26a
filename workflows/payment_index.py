"""What a payment shows in Temporal's search attributes, and when it changes them.

Every upsert is an event in the payment's history, so the workflow upserts only what changed:
the status an API-started payment begins with (``processing``, set with its start) is not
written again by its first step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from contracts.payments import PaymentStatus
    from contracts.search_attributes import PAYMENT_STATUS


def started_status() -> PaymentStatus | None:
    """The status the payment's start set, if any (a child payment of an invoice or a funding
    may start without one)."""
    value = workflow.info().typed_search_attributes.get(PAYMENT_STATUS)
    return None if value is None else PaymentStatus(value)


def index_status(
    status: PaymentStatus,
    indexed: PaymentStatus | None,
    alongside: Sequence[SearchAttributeUpdate[Any]],
) -> PaymentStatus:
    """Upsert ``status`` (with ``alongside``) unless it is what the index already holds;
    returns what the index holds now."""
    if indexed is not status:
        workflow.upsert_search_attributes([PAYMENT_STATUS.value_set(status.value), *alongside])
    return status
