"""Events raised in the transaction of the projection write that records their change.

Each function is called inside the caller's transaction, after the row is written, and returns
the ids of the events it wrote (none when the write was a repeat): the caller dispatches them once
its transaction has committed. An account with no enabled endpoint has nobody to deliver to, so
its events are written dispatched already and not returned: the payment's step then skips the
three sessions of a dispatch after its commit. (An endpoint whose creation commits in that very
moment may miss such an event, as it would miss one raised a moment before it existed.)

Which status raises which event is the contract's table (``contracts.webhooks_out``). An event's
object is the resource as the API answers it: the row's columns but for the internal ones named
here; ``tests/unit/test_field_lists.py`` holds each list to the API's response model.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.projections import ORM_RENAMED
from contracts.billing import InvoiceStatus
from contracts.payments import PaymentView, RefundView, receipt_path
from contracts.subscriptions import SubscriptionView
from contracts.webhooks_out import (
    INVOICE_STATUS_EVENTS,
    PAYMENT_STATUS_EVENTS,
    REFUND_STATUS_EVENTS,
    REVIEW_OUTCOMES,
    SUBSCRIPTION_STATUS_EVENTS,
    EventType,
)
from db.models import Base, Invoice, Payment, Refund, Subscription
from db.repositories import payments as payments_repo
from db.repositories import webhooks_out as webhooks_repo

PAYMENT_INTERNAL = frozenset({"account_id", "request_hash", "version"})
REFUND_INTERNAL = frozenset({"provider_reference", "updated_at"})
SUBSCRIPTION_INTERNAL = frozenset(
    {"account_id", "paused_at", "canceled_at", "version", "updated_at"}
)
INVOICE_INTERNAL = frozenset(
    {"account_id", "period_start", "period_end", "payment_id", "updated_at"}
)


def public_object(row: Base, internal: frozenset[str]) -> dict[str, Any]:
    """The row as the API shows it: public columns by their API names, times in RFC 3339."""
    shown = {renamed: name for name, renamed in ORM_RENAMED.items()}
    return {
        shown.get(attr.key, attr.key): webhooks_repo.json_value(getattr(row, attr.key))
        for attr in inspect(type(row)).column_attrs
        if attr.key not in internal
    }


async def _fresh(session: AsyncSession, model: type[Base], row_id: str) -> Any:
    """The row as this transaction just wrote it (Core writes bypass the identity map)."""
    return await session.get(model, row_id, populate_existing=True)


@functools.cache
def _shown_columns(model: type[Base], internal: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(column name, API name) of the row's public columns, in ``public_object``'s order."""
    shown = {renamed: name for name, renamed in ORM_RENAMED.items()}
    return tuple(
        (attr.columns[0].name, shown.get(attr.key, attr.key))
        for attr in inspect(model).column_attrs
        if attr.key not in internal
    )


def _public_values(
    model: type[Base], internal: frozenset[str], row: Mapping[Any, Any]
) -> dict[str, Any]:
    """``public_object`` of a Core row (by column name) of ``model``."""
    return {
        name: webhooks_repo.json_value(row[column])
        for column, name in _shown_columns(model, internal)
    }


@functools.cache
def _row_query(model: type[Base]) -> Any:
    table: Any = model.__table__
    return select(table).where(table.c.id == bindparam("row_id"))


async def _fresh_object(
    session: AsyncSession, model: type[Base], row_id: str, internal: frozenset[str]
) -> dict[str, Any]:
    """``public_object`` of the row as this transaction just wrote it, read with a prebuilt Core
    statement: no ORM instance is loaded for what becomes a JSON object."""
    row = (await session.execute(_row_query(model), {"row_id": row_id})).one()._mapping
    return _public_values(model, internal, row)


async def _raise(
    session: AsyncSession,
    event_type: str,
    resource_id: str,
    resource: dict[str, Any],
    *,
    account_id: str,
    at: datetime,
    seq: int | None = None,
    deliverable: bool | None = None,
) -> list[str]:
    """Write the event once per ``<resource>:<type>`` (``:<seq>`` for a type that may come
    again); ``[its id]`` when this call wrote it for an endpoint to receive, ``[]`` for a repeat
    or when the account has no enabled endpoint (``deliverable``, when the caller knows it)."""
    dedupe_key = f"{resource_id}:{event_type}" + ("" if seq is None else f":{seq}")
    if deliverable is None:
        deliverable = await webhooks_repo.has_enabled_endpoints(session, account_id)
    event_id = await webhooks_repo.record_event(
        session,
        account_id=account_id,
        type=event_type,
        resource_id=resource_id,
        dedupe_key=dedupe_key,
        resource=resource,
        created_at=at,
        dispatched=not deliverable,
    )
    return [event_id] if event_id and deliverable else []


async def payment_events(
    session: AsyncSession, view: PaymentView, refund: RefundView | None, transition_type: str
) -> list[str]:
    """The payment's status event, the refund's outcome event and, when the transition closes a
    review, ``review.closed``: each once."""
    raised: list[str] = []
    account_id, at = view.account_id, view.updated_at
    outcome = REVIEW_OUTCOMES.get(transition_type)
    refund_type = REFUND_STATUS_EVENTS.get(refund.status.value) if refund else None
    payment_type = PAYMENT_STATUS_EVENTS.get(view.status.value)
    if outcome is None and refund_type is None and payment_type is None:
        return raised
    # Asked once for the transition's events, not once per event; with the payment's row when
    # the payment raises one (the usual case: one statement for both).
    written = None
    if payment_type is not None:
        written = await payments_repo.written_payment(session, view.id, account_id)
        deliverable = written.deliverable
    else:
        deliverable = await webhooks_repo.has_enabled_endpoints(session, account_id)
    if outcome is not None:
        review = {
            "payment_id": view.id,
            "customer_id": view.customer_id,
            "amount": view.amount,
            "currency": view.currency,
            "outcome": outcome,
            "closed_at": webhooks_repo.json_value(view.updated_at),
        }
        raised += await _raise(
            session,
            EventType.REVIEW_CLOSED,
            view.id,
            review,
            account_id=account_id,
            at=at,
            deliverable=deliverable,
        )
    if refund is not None and refund_type is not None:
        shown = await _fresh_object(session, Refund, refund.id, REFUND_INTERNAL)
        raised += await _raise(
            session,
            refund_type,
            refund.id,
            shown,
            account_id=account_id,
            at=at,
            deliverable=deliverable,
        )
    if written is not None and payment_type is not None:
        shown = {
            **_public_values(Payment, PAYMENT_INTERNAL, written.row),
            "receipt_url": receipt_path(view.id, view.status.value),
        }
        raised += await _raise(
            session,
            payment_type,
            view.id,
            shown,
            account_id=account_id,
            at=at,
            deliverable=deliverable,
        )
    return raised


async def subscription_events(
    session: AsyncSession, view: SubscriptionView, previous_status: str | None
) -> list[str]:
    """Called when ``view`` was written: ``subscription.created`` on its first record, then an
    event per change of status (a status may come back, so the key names the version)."""
    if previous_status == view.status.value:
        return []
    event_type = (
        EventType.SUBSCRIPTION_CREATED
        if previous_status is None
        else SUBSCRIPTION_STATUS_EVENTS.get(view.status.value, EventType.SUBSCRIPTION_UPDATED)
    )
    row = await _fresh(session, Subscription, view.id)
    shown = public_object(row, SUBSCRIPTION_INTERNAL)
    return await _raise(
        session,
        event_type,
        view.id,
        shown,
        account_id=view.account_id,
        at=view.updated_at,
        seq=view.version,
    )


async def invoice_events(
    session: AsyncSession, invoice_id: str, previous: tuple[str, int] | None
) -> list[str]:
    """``invoice.paid`` / ``invoice.uncollectible`` on entering the status; an open invoice whose
    attempt count grew raises ``invoice.payment_failed`` once per attempt."""
    row: Invoice | None = await _fresh(session, Invoice, invoice_id)
    if row is None or previous is None:
        return []
    previous_status, previous_attempts = previous
    event_type: EventType | None = None
    if row.status != previous_status:
        event_type = INVOICE_STATUS_EVENTS.get(row.status)
    elif row.status == InvoiceStatus.OPEN.value and row.attempt_count > previous_attempts:
        event_type = EventType.INVOICE_PAYMENT_FAILED
    if event_type is None:
        return []
    shown = public_object(row, INVOICE_INTERNAL)
    return await _raise(
        session,
        event_type,
        row.id,
        shown,
        account_id=row.account_id,
        at=row.updated_at,
        seq=row.attempt_count,
    )
