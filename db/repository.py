"""Every query Durapay runs. Functions flush but never commit: the caller owns the transaction
(one per request or activity). Writes that may be repeated — by a retried activity, a redelivered
webhook, two racing requests — are idempotent by key, never by luck."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ApiKey,
    Base,
    Customer,
    Payment,
    PaymentEvent,
    PaymentMethod,
    ProviderHealth,
    Refund,
    WebhookEvent,
)

# ------------------------------------------------------------------ API keys


async def add_api_key(
    session: AsyncSession, *, key_id: str, account_id: str, role: str, key_hash: str, label: str
) -> None:
    """Issue a key; a hash that is already taken raises IntegrityError rather than share a key."""
    session.add(
        ApiKey(
            id=key_id,
            account_id=account_id,
            role=role,
            key_hash=key_hash,
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    await session.flush()


async def ensure_api_key(
    session: AsyncSession, *, key_id: str, account_id: str, role: str, key_hash: str, label: str
) -> None:
    """Insert the key unless one with that hash exists (idempotent seeding)."""
    if await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)):
        return
    await _insert_once(
        session,
        ApiKey,
        {
            "id": key_id,
            "account_id": account_id,
            "role": role,
            "key_hash": key_hash,
            "label": label,
            "created_at": datetime.now(UTC),
        },
    )


async def find_active_api_key(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    return result


async def any_api_key_with_hash(session: AsyncSession, hashes: Collection[str]) -> bool:
    """Whether any of these keys still opens the door; a revoked key does not count."""
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.key_hash.in_(list(hashes)), ApiKey.revoked_at.is_(None))
    )
    return found is not None


# ------------------------------------------------------------------ customers


async def add_customer(session: AsyncSession, customer: Customer) -> bool:
    """False when a customer with that id already exists (a repeated idempotent create)."""
    return await _insert_once(session, Customer, _values(customer))


async def get_customer(
    session: AsyncSession, customer_id: str, account_id: str | None = None
) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id)
    if account_id is not None:
        query = query.where(Customer.account_id == account_id)
    result: Customer | None = await session.scalar(query)
    return result


async def set_stripe_customer_id(
    session: AsyncSession, customer_id: str, stripe_customer_id: str
) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(stripe_customer_id=stripe_customer_id)
    )


# ------------------------------------------------------------------ payment methods


async def save_payment_method(session: AsyncSession, method: PaymentMethod) -> PaymentMethod:
    """Insert once by id; the customer's first live method becomes the default."""
    existing = await get_payment_method(session, method.id)
    if existing is not None:
        return existing
    live = await list_payment_methods(session, method.customer_id)
    await _insert_once(session, PaymentMethod, {**_values(method), "is_default": not live})
    saved = await get_payment_method(session, method.id)
    assert saved is not None
    return saved


async def get_payment_method(session: AsyncSession, method_id: str) -> PaymentMethod | None:
    result: PaymentMethod | None = await session.scalar(
        select(PaymentMethod).where(PaymentMethod.id == method_id)
    )
    return result


async def list_payment_methods(session: AsyncSession, customer_id: str) -> list[PaymentMethod]:
    rows = await session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer_id, PaymentMethod.deleted_at.is_(None))
        .order_by(PaymentMethod.created_at.desc(), PaymentMethod.id.desc())
    )
    return list(rows)


async def set_default_payment_method(
    session: AsyncSession, customer_id: str, method_id: str
) -> PaymentMethod | None:
    methods = await list_payment_methods(session, customer_id)
    chosen = next((m for m in methods if m.id == method_id), None)
    if chosen is None:
        return None
    for method in methods:
        method.is_default = method is chosen
    await session.flush()
    return chosen


async def soft_delete_payment_method(
    session: AsyncSession, customer_id: str, method_id: str
) -> PaymentMethod | None:
    """Past payments keep their method; the newest remaining one becomes default if needed."""
    methods = await list_payment_methods(session, customer_id)
    doomed = next((m for m in methods if m.id == method_id), None)
    if doomed is None:
        return None
    doomed.deleted_at = datetime.now(UTC)
    remaining = [m for m in methods if m is not doomed]
    if doomed.is_default and remaining:
        remaining[0].is_default = True
    doomed.is_default = False
    await session.flush()
    return doomed


# ------------------------------------------------------------------ payments


async def save_payment_snapshot(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert, or update only with a newer version: a late or repeated write never goes back.
    One statement (``ON CONFLICT … DO UPDATE … WHERE version <``), because the worker writes a
    snapshot at every step of every payment."""
    row = _row(Payment, values)
    statement = _upsert_newer_version(_dialect_name(session), tuple(row))
    result = await session.execute(statement, row)
    return bool(getattr(result, "rowcount", 0))


async def get_payment(
    session: AsyncSession, payment_id: str, account_id: str | None = None
) -> Payment | None:
    query = select(Payment).where(Payment.id == payment_id)
    if account_id is not None:
        query = query.where(Payment.account_id == account_id)
    result: Payment | None = await session.scalar(query)
    return result


async def find_payment_by_provider_reference(
    session: AsyncSession, provider: str, reference: str
) -> Payment | None:
    result: Payment | None = await session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_reference == reference)
    )
    return result


async def list_payments(
    session: AsyncSession,
    *,
    account_id: str,
    customer_id: str | None = None,
    status: str | None = None,
    limit: int,
    starting_after: str | None = None,
) -> tuple[list[Payment], bool]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    query = select(Payment).where(Payment.account_id == account_id)
    if customer_id is not None:
        query = query.where(Payment.customer_id == customer_id)
    if status is not None:
        query = query.where(Payment.status == status)
    if starting_after is not None:
        cursor = await get_payment(session, starting_after, account_id)
        if cursor is None:
            return [], False
        query = query.where(
            (Payment.created_at < cursor.created_at)
            | ((Payment.created_at == cursor.created_at) & (Payment.id < cursor.id))
        )
    rows = list(
        await session.scalars(
            query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


# ------------------------------------------------------------------ refunds and timeline


async def save_refund(session: AsyncSession, values: Mapping[str, Any]) -> None:
    if await _insert_once(session, Refund, values):
        return
    await session.execute(
        update(Refund)
        .where(Refund.id == values["id"])
        .values(**{k: v for k, v in values.items() if k not in ("id", "created_at")})
        .execution_options(synchronize_session=False)
    )


async def get_refund(session: AsyncSession, refund_id: str) -> Refund | None:
    result: Refund | None = await session.scalar(select(Refund).where(Refund.id == refund_id))
    return result


async def list_refunds(session: AsyncSession, payment_id: str) -> list[Refund]:
    rows = await session.scalars(
        select(Refund)
        .where(Refund.payment_id == payment_id)
        .order_by(Refund.created_at.desc(), Refund.id.desc())
    )
    return list(rows)


async def append_payment_event(
    session: AsyncSession,
    *,
    payment_id: str,
    seq: int,
    type: str,
    data: dict[str, Any],
    created_at: datetime,
) -> bool:
    """Append once per (payment, seq): a retried write adds nothing."""
    return await _insert_once(
        session,
        PaymentEvent,
        {
            "payment_id": payment_id,
            "seq": seq,
            "type": type,
            "data": data,
            "created_at": created_at,
        },
    )


async def list_payment_events(session: AsyncSession, payment_id: str) -> list[PaymentEvent]:
    rows = await session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.seq)
    )
    return list(rows)


# ------------------------------------------------------------------ webhooks


async def store_webhook_event(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    type: str,
    payload: dict[str, Any],
    received_at: datetime,
) -> tuple[WebhookEvent, bool]:
    """Store a provider event once; the bool says whether this call stored it."""
    created = await _insert_once(
        session,
        WebhookEvent,
        {
            "provider": provider,
            "event_id": event_id,
            "type": type,
            "payload": payload,
            "received_at": received_at,
        },
    )
    stored = await _find_webhook_event(session, provider, event_id)
    assert stored is not None
    return stored, created


async def _find_webhook_event(
    session: AsyncSession, provider: str, event_id: str
) -> WebhookEvent | None:
    result: WebhookEvent | None = await session.scalar(
        select(WebhookEvent).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
    )
    return result


async def mark_webhook_event(
    session: AsyncSession, *, provider: str, event_id: str, outcome: str, processed_at: datetime
) -> None:
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.provider == provider, WebhookEvent.event_id == event_id)
        .values(outcome=outcome, processed_at=processed_at)
    )


async def count_webhook_events(session: AsyncSession, provider: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == provider)
    )
    return int(count or 0)


# ------------------------------------------------------------------ provider health


async def save_provider_health(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Insert or overwrite one provider's circuit record (the writer holds the latest state)."""
    if await _insert_once(session, ProviderHealth, values):
        return
    await session.execute(
        update(ProviderHealth)
        .where(ProviderHealth.provider == values["provider"])
        .values(**{k: v for k, v in values.items() if k != "provider"})
        .execution_options(synchronize_session=False)
    )


async def list_provider_health(session: AsyncSession) -> list[ProviderHealth]:
    return list(await session.scalars(select(ProviderHealth).order_by(ProviderHealth.provider)))


# ------------------------------------------------------------------ helpers


async def _insert_once(session: AsyncSession, model: type[Base], values: Mapping[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: True if this call inserted the row, False if a row
    with the same key (primary or unique) already existed — including one a racing writer just
    committed. Not a SAVEPOINT around a plain INSERT: under SQLite's driver, a savepoint opened
    before the transaction's first write starts the transaction itself, and releasing it commits
    the caller's work early (test_caller_rollback_undoes_every_write fails that way)."""
    statement = _insert_unless_present(_dialect_name(session), model.__table__)
    result = await session.execute(statement, _row(model, values))
    return bool(getattr(result, "rowcount", 0))


# The two writes the worker makes at every step of every payment are built once per dialect and
# executed with the row as parameters. Building them per call (``insert(...).values(...)``, an
# ``excluded`` alias of every column) cost more CPU than executing them, and going through the
# ORM entity rather than its table added the ORM's bulk-insert layer on top.
_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


def _dialect_name(session: AsyncSession) -> str:
    """The database behind the session: both that Durapay runs on have ``ON CONFLICT``."""
    return session.get_bind().dialect.name


@functools.cache
def _insert_unless_present(dialect_name: str, table: Any) -> Any:
    return _DIALECTS[dialect_name].insert(table).on_conflict_do_nothing()


@functools.cache
def _upsert_newer_version(dialect_name: str, columns: tuple[str, ...]) -> Any:
    statement = _DIALECTS[dialect_name].insert(Payment.__table__)
    newer = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[Payment.id],
        set_={name: newer[name] for name in columns if name != "id"},
        where=Payment.version < newer.version,
    )


def _row(model: type[Base], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values keyed by attribute name (``metadata_``), keyed by column name (``metadata``)
    instead, as a Core statement takes them."""
    attributes = inspect(model).column_attrs
    return {attributes[key].columns[0].name: value for key, value in values.items()}


def _values(row: Base) -> dict[str, Any]:
    """Column values of an unsaved ORM instance, by attribute name. An attribute left unset is
    left out when its column has a default, so the default applies as it would on ``add()``."""
    values: dict[str, Any] = {}
    for attr in inspect(type(row)).column_attrs:
        value = getattr(row, attr.key)
        if value is not None or attr.columns[0].default is None:
            values[attr.key] = value
    return values


async def payment_totals(session: AsyncSession) -> list[tuple[str, str, int, int, int, int]]:
    """Per (status, currency): payment count, amount, amount captured, amount refunded."""
    rows = await session.execute(
        select(
            Payment.status,
            Payment.currency,
            func.count(),
            func.coalesce(func.sum(Payment.amount), 0),
            func.coalesce(func.sum(Payment.amount_captured), 0),
            func.coalesce(func.sum(Payment.amount_refunded), 0),
        )
        .group_by(Payment.status, Payment.currency)
        .order_by(Payment.status, Payment.currency)
    )
    return [(s, c, int(n), int(a), int(cap), int(ref)) for s, c, n, a, cap, ref in rows.all()]
