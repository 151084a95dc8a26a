"""Repository behaviour a caller relies on, on both backends: idempotent writes stay idempotent
under races, versioned snapshots never go backwards, pages are stable, timestamps stay UTC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    ApiKey,
    Customer,
    Payment,
    PaymentEvent,
    PaymentMethod,
    WebhookEvent,
)
from db.repositories import api_keys as api_keys_repo
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from db.repositories import webhook_events as webhook_events_repo

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "acct_1"


def payment_values(
    payment_id: str = "pay_1",
    *,
    version: int = 1,
    status: str = "processing",
    account_id: str = ACCOUNT,
    customer_id: str = "cus_1",
    created_at: datetime = T0,
    **overrides: Any,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": payment_id,
        "account_id": account_id,
        "customer_id": customer_id,
        "payment_method_id": "pm_1",
        "provider": "stripe",
        "provider_reference": None,
        "status": status,
        "amount": 1000,
        "currency": "eur",
        "amount_capturable": 0,
        "amount_captured": 0,
        "amount_refunded": 0,
        "capture_method": "automatic",
        "next_action": None,
        "failure": None,
        "risk": None,
        "description": None,
        "metadata_": {},
        "request_hash": "0" * 64,
        "routing_rule": None,
        "version": version,
        "created_at": created_at,
        "updated_at": created_at + timedelta(seconds=version),
    }
    values.update(overrides)
    return values


def customer(customer_id: str = "cus_1", account_id: str = ACCOUNT) -> Customer:
    return Customer(
        id=customer_id,
        account_id=account_id,
        email="ada@example.com",
        name="Ada",
        metadata_={"tier": "gold"},
        created_at=T0,
    )


def method(method_id: str, created_at: datetime, customer_id: str = "cus_1") -> PaymentMethod:
    return PaymentMethod(
        id=method_id,
        customer_id=customer_id,
        provider="stripe",
        provider_token=f"tok_{method_id}",
        type="card",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
        is_default=False,
        created_at=created_at,
    )


async def with_customer(sessions: Sessions, customer_id: str = "cus_1") -> None:
    async with sessions() as session, session.begin():
        await customers_repo.add_customer(session, customer(customer_id))


async def defaults(sessions: Sessions, customer_id: str = "cus_1") -> list[str]:
    async with sessions() as session:
        methods = await payment_methods_repo.list_payment_methods(session, customer_id)
    return [m.id for m in methods if m.is_default]


def test_payment_values_cover_every_column() -> None:
    """The snapshot helpers below are only meaningful if they write every column."""
    assert set(payment_values()) == {attr.key for attr in inspect(Payment).column_attrs}


# ------------------------------------------------------------------ API keys


async def test_revoked_api_key_no_longer_authenticates(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await api_keys_repo.add_api_key(
            session, key_id="key_1", account_id=ACCOUNT, role="client", key_hash="a" * 64, name="x"
        )
    async with sessions() as session, session.begin():
        found = await api_keys_repo.find_active_api_key(session, "a" * 64)
        assert found is not None
        assert (found.account_id, found.role) == (ACCOUNT, "client")
        assert await api_keys_repo.any_api_key_with_hash(session, ["b" * 64, "a" * 64])
        found.revoked_at = datetime.now(UTC)
    async with sessions() as session:
        assert await api_keys_repo.find_active_api_key(session, "a" * 64) is None
        assert not await api_keys_repo.any_api_key_with_hash(session, ["a" * 64])
        assert not await api_keys_repo.any_api_key_with_hash(session, [])


async def test_ensure_api_key_seeds_once(sessions: Sessions) -> None:
    for key_id in ("key_dev", "key_other"):
        async with sessions() as session, session.begin():
            await api_keys_repo.ensure_api_key(
                session,
                key_id=key_id,
                account_id=ACCOUNT,
                role="admin",
                key_hash="c" * 64,
                name="d",
            )
    async with sessions() as session:
        rows = list(await session.scalars(select(ApiKey)))
    assert [row.id for row in rows] == ["key_dev"]


async def test_two_keys_cannot_share_a_hash(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await api_keys_repo.add_api_key(
            session, key_id="key_1", account_id=ACCOUNT, role="client", key_hash="d" * 64, name="x"
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await api_keys_repo.add_api_key(
                session,
                key_id="key_2",
                account_id="acct_2",
                role="admin",
                key_hash="d" * 64,
                name="y",
            )


# ------------------------------------------------------------------ customers


async def test_customer_is_visible_only_to_its_account(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        assert not await customers_repo.add_customer(session, customer())
        await customers_repo.set_stripe_customer_id(session, "cus_1", "cus_stripe_1")
    async with sessions() as session:
        assert await customers_repo.get_customer(session, "cus_1", "acct_2") is None
        own = await customers_repo.get_customer(session, "cus_1", ACCOUNT)
        assert own is not None
        assert own.stripe_customer_id == "cus_stripe_1"
        assert own.metadata_ == {"tier": "gold"}
        assert await customers_repo.get_customer(session, "cus_1") is not None
        assert await customers_repo.get_customer(session, "cus_missing") is None


async def test_customer_without_metadata_gets_an_empty_mapping(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await customers_repo.add_customer(
            session, Customer(id="cus_2", account_id=ACCOUNT, email="b@example.com", created_at=T0)
        )
    async with sessions() as session:
        stored = await customers_repo.get_customer(session, "cus_2")
    assert stored is not None
    assert (stored.metadata_, stored.name) == ({}, None)


# ------------------------------------------------------------------ payment methods


async def test_first_live_payment_method_becomes_default(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        first = await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
        second = await payment_methods_repo.save_payment_method(
            session, method("pm_2", T0 + timedelta(minutes=1))
        )
    assert (first.is_default, second.is_default) == (True, False)
    async with sessions() as session:
        listed = await payment_methods_repo.list_payment_methods(session, "cus_1")
    assert [m.id for m in listed] == ["pm_2", "pm_1"]


async def test_saving_a_payment_method_again_changes_nothing(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
    again = method("pm_1", T0 + timedelta(days=1))
    again.last4 = "0000"
    async with sessions() as session, session.begin():
        saved = await payment_methods_repo.save_payment_method(session, again)
    assert (saved.last4, saved.created_at, saved.is_default) == ("4242", T0, True)
    async with sessions() as session:
        assert len(await payment_methods_repo.list_payment_methods(session, "cus_1")) == 1


async def test_set_default_leaves_exactly_one_default(sessions: Sessions) -> None:
    await with_customer(sessions)
    await with_customer(sessions, "cus_2")
    async with sessions() as session, session.begin():
        for minute, pm_id in enumerate(["pm_1", "pm_2", "pm_3"]):
            await payment_methods_repo.save_payment_method(
                session, method(pm_id, T0 + timedelta(minutes=minute))
            )
        await payment_methods_repo.save_payment_method(session, method("pm_other", T0, "cus_2"))
    async with sessions() as session, session.begin():
        chosen = await payment_methods_repo.set_default_payment_method(session, "cus_1", "pm_2")
        assert chosen is not None
        assert chosen.is_default
    assert await defaults(sessions) == ["pm_2"]
    async with sessions() as session, session.begin():
        assert (
            await payment_methods_repo.set_default_payment_method(session, "cus_1", "pm_other")
            is None
        )
        assert (
            await payment_methods_repo.set_default_payment_method(session, "cus_1", "pm_nope")
            is None
        )
        await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_3")
        assert (
            await payment_methods_repo.set_default_payment_method(session, "cus_1", "pm_3") is None
        )
    assert await defaults(sessions) == ["pm_2"]
    assert await defaults(sessions, "cus_2") == ["pm_other"]


async def test_deleting_the_default_promotes_the_newest_remaining(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        for minute, pm_id in enumerate(["pm_1", "pm_2", "pm_3"]):
            await payment_methods_repo.save_payment_method(
                session, method(pm_id, T0 + timedelta(minutes=minute))
            )
    async with sessions() as session, session.begin():
        deleted = await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_1")
    assert deleted is not None
    assert deleted.deleted_at is not None
    assert not deleted.is_default
    assert await defaults(sessions) == ["pm_3"]
    async with sessions() as session, session.begin():
        assert (
            await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_2")
            is not None
        )
        assert (
            await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_1") is None
        )
        listed = await payment_methods_repo.list_payment_methods(session, "cus_1")
        kept = await payment_methods_repo.get_payment_method(session, "pm_1")
    assert [m.id for m in listed] == ["pm_3"]
    assert await defaults(sessions) == ["pm_3"]
    assert kept is not None, "past payments still point at a deleted method"


async def test_method_added_after_all_were_deleted_becomes_default(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
        await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_1")
        fresh = await payment_methods_repo.save_payment_method(session, method("pm_2", T0))
    assert fresh.is_default
    assert await defaults(sessions) == ["pm_2"]


# ------------------------------------------------------------------ payments


async def test_snapshot_never_goes_backwards(sessions: Sessions) -> None:
    writes = [(1, "processing", True), (3, "succeeded", True), (2, "requires_action", False)]
    for version, status, expected in [*writes, (3, "failed", False)]:
        async with sessions() as session, session.begin():
            written = await payments_repo.save_payment_snapshot(
                session, payment_values(version=version, status=status)
            )
        assert written is expected, (version, status)
    async with sessions() as session:
        stored = await payments_repo.get_payment(session, "pay_1")
    assert stored is not None
    assert (stored.version, stored.status) == (3, "succeeded")


@pytest.mark.parametrize("versions", [(1, 2), (2, 1)])
async def test_racing_first_snapshots_keep_the_newest(
    sessions: Sessions, versions: tuple[int, int]
) -> None:
    async def write(version: int) -> bool:
        async with sessions() as session, session.begin():
            return await payments_repo.save_payment_snapshot(
                session, payment_values(version=version, status=f"v{version}")
            )

    results = await asyncio.gather(*(write(v) for v in versions))
    async with sessions() as session:
        stored = await payments_repo.get_payment(session, "pay_1")
    assert stored is not None
    assert (stored.version, stored.status) == (2, "v2")
    assert dict(zip(versions, results, strict=True))[2] is True, "the newest write always lands"


async def test_payment_lookups_respect_account_and_provider(sessions: Sessions) -> None:
    big = 2**40
    async with sessions() as session, session.begin():
        await payments_repo.save_payment_snapshot(
            session,
            payment_values(
                provider_reference="pi_123",
                amount=big,
                metadata_={"order": {"id": 42, "lines": ["a", "b"]}},
                next_action={"type": "redirect", "url": "https://bank.example/3ds"},
            ),
        )
    async with sessions() as session:
        assert await payments_repo.get_payment(session, "pay_1", "acct_2") is None
        own = await payments_repo.get_payment(session, "pay_1", ACCOUNT)
        assert (
            await payments_repo.find_payment_by_provider_reference(session, "paypal", "pi_123")
            is None
        )
        found = await payments_repo.find_payment_by_provider_reference(session, "stripe", "pi_123")
    assert own is not None
    assert found is not None
    assert found.id == "pay_1"
    assert own.amount == big
    assert own.metadata_ == {"order": {"id": 42, "lines": ["a", "b"]}}
    assert own.next_action == {"type": "redirect", "url": "https://bank.example/3ds"}


async def test_list_payments_pages_newest_first(sessions: Sessions) -> None:
    # Seven payments, several sharing a created_at: the id breaks ties, so no page repeats or
    # skips one. Another account's payment never shows up.
    stamps = [0, 1, 1, 1, 2, 3, 3]
    async with sessions() as session, session.begin():
        for index, minute in enumerate(stamps):
            await payments_repo.save_payment_snapshot(
                session,
                payment_values(f"pay_{index}", created_at=T0 + timedelta(minutes=minute)),
            )
        await payments_repo.save_payment_snapshot(
            session, payment_values("pay_foreign", account_id="acct_2", created_at=T0)
        )
    expected = ["pay_6", "pay_5", "pay_4", "pay_3", "pay_2", "pay_1", "pay_0"]
    seen: list[str] = []
    flags: list[bool] = []
    cursor: str | None = None
    async with sessions() as session:
        while True:
            page, has_more = await payments_repo.list_payments(
                session, account_id=ACCOUNT, limit=3, starting_after=cursor
            )
            seen += [p.id for p in page]
            flags.append(has_more)
            if not has_more:
                break
            cursor = page[-1].id
    assert seen == expected
    assert flags == [True, True, False]


async def test_list_payments_filters(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for index, (customer_id, status) in enumerate(
            [("cus_1", "succeeded"), ("cus_2", "succeeded"), ("cus_1", "failed")]
        ):
            await payments_repo.save_payment_snapshot(
                session,
                payment_values(
                    f"pay_{index}",
                    customer_id=customer_id,
                    status=status,
                    created_at=T0 + timedelta(minutes=index),
                ),
            )
    async with sessions() as session:
        by_customer, _ = await payments_repo.list_payments(
            session, account_id=ACCOUNT, customer_id="cus_1", limit=10
        )
        by_status, _ = await payments_repo.list_payments(
            session, account_id=ACCOUNT, status="succeeded", limit=10
        )
        both, more = await payments_repo.list_payments(
            session, account_id=ACCOUNT, customer_id="cus_1", status="succeeded", limit=1
        )
        unknown_cursor = await payments_repo.list_payments(
            session, account_id=ACCOUNT, limit=10, starting_after="pay_nope"
        )
    assert [p.id for p in by_customer] == ["pay_2", "pay_0"]
    assert [p.id for p in by_status] == ["pay_1", "pay_0"]
    assert ([p.id for p in both], more) == (["pay_0"], False)
    assert unknown_cursor == ([], False)


# ------------------------------------------------------------------ refunds


def refund_values(refund_id: str, status: str, minute: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": refund_id,
        "payment_id": "pay_1",
        "amount": 300,
        "currency": "eur",
        "status": status,
        "reason": None,
        "provider_reference": None,
        "created_at": T0 + timedelta(minutes=minute),
        "updated_at": T0 + timedelta(minutes=minute),
    }
    values.update(overrides)
    return values


async def test_refund_is_inserted_then_updated_in_place(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await payments_repo.save_payment_snapshot(session, payment_values())
        await payments_repo.save_refund(session, refund_values("re_1", "pending", 1))
        await payments_repo.save_refund(session, refund_values("re_2", "pending", 2))
    async with sessions() as session, session.begin():
        await payments_repo.save_refund(
            session,
            refund_values(
                "re_1",
                "succeeded",
                1,
                provider_reference="re_stripe_1",
                updated_at=T0 + timedelta(hours=1),
            ),
        )
    async with sessions() as session:
        refunds = await payments_repo.list_refunds(session, "pay_1")
        assert await payments_repo.list_refunds(session, "pay_other") == []
    assert [r.id for r in refunds] == ["re_2", "re_1"]
    updated = refunds[1]
    assert (updated.status, updated.provider_reference) == ("succeeded", "re_stripe_1")
    assert (updated.created_at, updated.updated_at) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(hours=1),
    )


# ------------------------------------------------------------------ payment timeline


async def append_event(session: AsyncSession, seq: int, type: str = "created") -> bool:
    return await payments_repo.append_payment_event(
        session,
        payment_id="pay_1",
        seq=seq,
        type=type,
        data={"seq": seq},
        created_at=T0 + timedelta(seconds=seq),
    )


async def test_payment_events_are_appended_once_and_read_in_order(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        assert await append_event(session, 2, "succeeded")
        assert await append_event(session, 1, "created")
    async with sessions() as session, session.begin():
        assert not await append_event(session, 1, "retried")
    async with sessions() as session:
        events = await payments_repo.list_payment_events(session, "pay_1")
    assert [(e.seq, e.type, e.data) for e in events] == [
        (1, "created", {"seq": 1}),
        (2, "succeeded", {"seq": 2}),
    ]


async def test_racing_appends_of_one_event_store_it_once(sessions: Sessions) -> None:
    async def append() -> bool:
        async with sessions() as session, session.begin():
            return await append_event(session, 1)

    results = await asyncio.gather(append(), append(), append())
    assert sorted(results) == [False, False, True]
    async with sessions() as session:
        assert len(await payments_repo.list_payment_events(session, "pay_1")) == 1


# ------------------------------------------------------------------ webhooks


async def store(session: AsyncSession, event_id: str, provider: str = "stripe") -> bool:
    _, new = await webhook_events_repo.store_webhook_event(
        session,
        provider=provider,
        event_id=event_id,
        type="payment_intent.succeeded",
        payload={"id": event_id},
        received_at=T0,
    )
    return new


async def test_redelivered_webhook_is_stored_once(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first, new = await webhook_events_repo.store_webhook_event(
            session,
            provider="stripe",
            event_id="evt_1",
            type="payment_intent.succeeded",
            payload={"id": "evt_1", "n": 1},
            received_at=T0,
        )
    assert new
    async with sessions() as session, session.begin():
        again, new = await webhook_events_repo.store_webhook_event(
            session,
            provider="stripe",
            event_id="evt_1",
            type="payment_intent.succeeded",
            payload={"id": "evt_1", "n": 2},
            received_at=T0 + timedelta(minutes=5),
        )
    assert not new
    assert again.id == first.id
    assert (again.payload, again.received_at) == ({"id": "evt_1", "n": 1}, T0)
    async with sessions() as session, session.begin():
        assert await store(session, "evt_1", provider="paypal"), "event ids are per provider"
        assert await webhook_events_repo.count_webhook_events(session, "stripe") == 1
        assert await webhook_events_repo.count_webhook_events(session, "paypal") == 1
        assert await webhook_events_repo.count_webhook_events(session, "adyen") == 0


async def test_concurrent_deliveries_store_the_webhook_once(sessions: Sessions) -> None:
    async def deliver() -> tuple[int, bool]:
        async with sessions() as session, session.begin():
            stored, new = await webhook_events_repo.store_webhook_event(
                session,
                provider="stripe",
                event_id="evt_race",
                type="charge.refunded",
                payload={},
                received_at=T0,
            )
            return stored.id, new

    results = await asyncio.gather(deliver(), deliver(), deliver())
    assert sorted(new for _, new in results) == [False, False, True]
    assert len({row_id for row_id, _ in results}) == 1
    async with sessions() as session:
        assert await webhook_events_repo.count_webhook_events(session, "stripe") == 1


async def test_marking_a_webhook_records_its_outcome(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await store(session, "evt_1")
        await store(session, "evt_2")
    processed = T0 + timedelta(seconds=3)
    async with sessions() as session, session.begin():
        await webhook_events_repo.mark_webhook_event(
            session,
            provider="stripe",
            event_id="evt_1",
            outcome="signalled",
            processed_at=processed,
        )
    async with sessions() as session:
        rows = {
            row.event_id: (row.outcome, row.processed_at)
            for row in await session.scalars(select(WebhookEvent))
        }
    assert rows == {"evt_1": ("signalled", processed), "evt_2": (None, None)}


# ------------------------------------------------------------------ transactions and time


async def test_caller_rollback_undoes_every_write(sessions: Sessions) -> None:
    """Functions never commit on their own, so an activity's writes land all together or not at
    all — also the idempotent inserts."""
    async with sessions() as session:
        transaction = await session.begin()
        await store(session, "evt_1")
        await payments_repo.save_payment_snapshot(session, payment_values())
        await append_event(session, 1)
        await transaction.rollback()
    async with sessions() as session:
        assert await webhook_events_repo.count_webhook_events(session, "stripe") == 0
        assert await payments_repo.get_payment(session, "pay_1") is None
        assert await session.scalar(select(func.count()).select_from(PaymentEvent)) == 0


async def test_timestamps_come_back_utc_aware(sessions: Sessions) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 3, 1, 17, 30, 0, 123456, tzinfo=kolkata)
    async with sessions() as session, session.begin():
        await payments_repo.save_payment_snapshot(session, payment_values(created_at=local))
    async with sessions() as session:
        stored = await payments_repo.get_payment(session, "pay_1")
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert stored.updated_at.tzinfo is not None


async def test_naive_timestamps_are_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(StatementError, match="naive"):
            await payments_repo.save_payment_snapshot(
                session, payment_values(created_at=datetime(2026, 3, 1, 12, 0))
            )
    async with sessions() as session:
        assert await payments_repo.get_payment(session, "pay_1") is None
