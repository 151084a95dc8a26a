"""Billing queries a workflow relies on, on both backends: the catalog loads idempotently and never
goes back a version, a period is invoiced once, invoices and subscription snapshots never go
backwards, dunning cases open and close once and add up to the right figures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.catalog import DEFAULT_CATALOG, read_plan_catalog
from db.models import Invoice, Subscription
from db.repositories import dunning as dunning_repo
from db.repositories import invoices as invoices_repo
from db.repositories import plans as plans_repo
from db.repositories import subscriptions as subscriptions_repo
from db.repositories.plans import load_plan_catalog

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "acct_1"


def subscription_values(
    subscription_id: str = "sub_1",
    *,
    version: int = 1,
    status: str = "trialing",
    account_id: str = ACCOUNT,
    customer_id: str = "cus_1",
    created_at: datetime = T0,
    **overrides: Any,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": subscription_id,
        "account_id": account_id,
        "customer_id": customer_id,
        "plan_id": "pro_monthly",
        "scheduled_plan_id": None,
        "payment_method_id": "pm_1",
        "status": status,
        "current_period_start": created_at,
        "current_period_end": created_at + timedelta(days=14),
        "trial_end": created_at + timedelta(days=14),
        "cancel_at_period_end": False,
        "entitled": True,
        "latest_invoice_id": None,
        "past_due_since": None,
        "paused_at": None,
        "canceled_at": None,
        "version": version,
        "created_at": created_at,
        "updated_at": created_at + timedelta(seconds=version),
    }
    values.update(overrides)
    return values


def invoice_values(
    invoice_id: str = "in_1",
    *,
    subscription_id: str = "sub_1",
    period_start: datetime = T0,
    amount_due: int = 2900,
    created_at: datetime | None = None,
    account_id: str = ACCOUNT,
) -> dict[str, Any]:
    period_end = period_start + timedelta(days=31)
    return {
        "id": invoice_id,
        "subscription_id": subscription_id,
        "customer_id": "cus_1",
        "account_id": account_id,
        "amount_due": amount_due,
        "amount_paid": 0,
        "currency": "USD",
        "status": "open",
        "number": None,
        "lines": [
            {
                "description": "Pro (monthly)",
                "amount": amount_due,
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
            }
        ],
        "period_start": period_start,
        "period_end": period_end,
        "attempt_count": 0,
        "next_payment_attempt": None,
        "payment_id": None,
        "created_at": created_at or period_start,
        "updated_at": created_at or period_start,
    }


def test_value_helpers_cover_every_column() -> None:
    assert set(subscription_values()) == {a.key for a in inspect(Subscription).column_attrs}
    assert set(invoice_values()) == {a.key for a in inspect(Invoice).column_attrs}


# ------------------------------------------------------------------ plan catalog


def write_catalog(path: Path, version: int, **changes: int) -> Path:
    """The default catalog under another version, with some plans' amounts changed."""
    catalog = json.loads(DEFAULT_CATALOG.read_text())
    catalog["version"] = version
    for plan in catalog["plans"]:
        plan["amount"] = changes.get(plan["id"], plan["amount"])
    path.write_text(json.dumps(catalog))
    return path


def test_default_catalog_is_the_contracts() -> None:
    catalog = read_plan_catalog()
    assert catalog.version == 1
    assert {(p.id, p.amount, p.currency, p.interval, p.trial_days) for p in catalog.plans} == {
        ("free", 0, "USD", "month", 0),
        ("pro_monthly", 2900, "USD", "month", 14),
        ("pro_yearly", 29000, "USD", "year", 14),
        ("team_monthly", 9900, "USD", "month", 14),
        ("team_yearly", 99000, "USD", "year", 14),
    }


@pytest.mark.parametrize(
    "plan",
    [
        {"amount": "2900"},
        {"amount": 29.0},
        {"amount": -1},
        {"currency": "usd"},
        {"interval": "week"},
        {"unknown": 1},
    ],
)
def test_malformed_catalog_is_refused(tmp_path: Path, plan: dict[str, Any]) -> None:
    catalog = json.loads(DEFAULT_CATALOG.read_text())
    catalog["plans"][1].update(plan)
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalog))
    with pytest.raises(ValidationError):
        read_plan_catalog(path)


def test_catalog_with_a_repeated_plan_id_is_refused(tmp_path: Path) -> None:
    catalog = json.loads(DEFAULT_CATALOG.read_text())
    catalog["plans"].append(catalog["plans"][0])
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalog))
    with pytest.raises(ValidationError, match="unique"):
        read_plan_catalog(path)


async def test_catalog_loads_once_and_lists_cheapest_first(sessions: Sessions) -> None:
    for expected in (5, 0):
        async with sessions() as session, session.begin():
            assert await load_plan_catalog(session) == expected
    async with sessions() as session:
        plans = await plans_repo.list_plans(session)
        pro = await plans_repo.get_plan(session, "pro_monthly")
        assert await plans_repo.get_plan(session, "gold") is None
    assert [p.id for p in plans] == [
        "free",
        "pro_monthly",
        "team_monthly",
        "pro_yearly",
        "team_yearly",
    ]
    assert pro is not None
    assert (pro.amount, pro.currency, pro.interval, pro.trial_days, pro.catalog_version) == (
        2900,
        "USD",
        "month",
        14,
        1,
    )


async def test_concurrent_catalog_loads_do_not_conflict(sessions: Sessions) -> None:
    async def load() -> int:
        async with sessions() as session, session.begin():
            return await load_plan_catalog(session)

    results = await asyncio.gather(load(), load())
    assert sum(results) == 5, "each plan is inserted by exactly one of them"
    async with sessions() as session:
        assert len(await plans_repo.list_plans(session)) == 5


async def test_newer_catalog_changes_prices_and_an_older_one_never_puts_them_back(
    sessions: Sessions, tmp_path: Path
) -> None:
    v2 = write_catalog(tmp_path / "plans.v2.json", 2, pro_monthly=3900)
    async with sessions() as session, session.begin():
        await load_plan_catalog(session)
    async with sessions() as session, session.begin():
        assert await load_plan_catalog(session, v2) == 5, "every row takes the new version"
    async with sessions() as session, session.begin():
        assert await load_plan_catalog(session, v2) == 0
        assert await load_plan_catalog(session) == 0, "v1 from an old build changes nothing"
    async with sessions() as session:
        pro = await plans_repo.get_plan(session, "pro_monthly")
        free = await plans_repo.get_plan(session, "free")
    assert pro is not None
    assert free is not None
    assert (pro.amount, pro.catalog_version, free.catalog_version) == (3900, 2, 2)


# ------------------------------------------------------------------ subscriptions


async def test_subscription_snapshot_never_goes_backwards(sessions: Sessions) -> None:
    writes = [(1, "trialing", True), (3, "past_due", True), (2, "active", False)]
    for version, status, expected in [*writes, (3, "canceled", False)]:
        async with sessions() as session, session.begin():
            written = await subscriptions_repo.save_subscription_snapshot(
                session, subscription_values(version=version, status=status)
            )
        assert written is expected, (version, status)
    async with sessions() as session:
        stored = await subscriptions_repo.get_subscription(session, "sub_1")
    assert stored is not None
    assert (stored.version, stored.status) == (3, "past_due")
    assert stored.current_period_end == T0 + timedelta(days=14)


@pytest.mark.parametrize("versions", [(1, 2), (2, 1)])
async def test_racing_first_subscription_snapshots_keep_the_newest(
    sessions: Sessions, versions: tuple[int, int]
) -> None:
    async def write(version: int) -> bool:
        async with sessions() as session, session.begin():
            return await subscriptions_repo.save_subscription_snapshot(
                session, subscription_values(version=version, status=f"v{version}")
            )

    await asyncio.gather(*(write(v) for v in versions))
    async with sessions() as session:
        stored = await subscriptions_repo.get_subscription(session, "sub_1")
    assert stored is not None
    assert (stored.version, stored.status) == (2, "v2")


async def test_subscriptions_page_newest_first_within_account_and_customer(
    sessions: Sessions,
) -> None:
    stamps = [0, 1, 1, 2, 3]
    async with sessions() as session, session.begin():
        for index, minute in enumerate(stamps):
            await subscriptions_repo.save_subscription_snapshot(
                session,
                subscription_values(
                    f"sub_{index}",
                    customer_id="cus_1" if index % 2 == 0 else "cus_2",
                    created_at=T0 + timedelta(minutes=minute),
                ),
            )
        await subscriptions_repo.save_subscription_snapshot(
            session, subscription_values("sub_foreign", account_id="acct_2")
        )
    seen: list[str] = []
    cursor: str | None = None
    async with sessions() as session:
        while True:
            page, has_more = await subscriptions_repo.list_subscriptions(
                session, account_id=ACCOUNT, limit=2, starting_after=cursor
            )
            seen += [s.id for s in page]
            if not has_more:
                break
            cursor = page[-1].id
        by_customer, more = await subscriptions_repo.list_subscriptions(
            session, account_id=ACCOUNT, customer_id="cus_1", limit=10
        )
        unknown = await subscriptions_repo.list_subscriptions(
            session, account_id=ACCOUNT, limit=10, starting_after="sub_foreign"
        )
        assert await subscriptions_repo.get_subscription(session, "sub_foreign", ACCOUNT) is None
    assert seen == ["sub_4", "sub_3", "sub_2", "sub_1", "sub_0"]
    assert ([s.id for s in by_customer], more) == (["sub_4", "sub_2", "sub_0"], False)
    assert unknown == ([], False)


# ------------------------------------------------------------------ invoices


async def test_a_period_is_invoiced_once(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first, created = await invoices_repo.create_invoice(session, invoice_values("in_1"))
    assert created
    async with sessions() as session, session.begin():
        again, created_again = await invoices_repo.create_invoice(
            session, invoice_values("in_2", amount_due=9900)
        )
    assert not created_again
    assert (again.id, again.amount_due) == ("in_1", 2900), "the first invoice of a period stands"
    assert again.lines == first.lines
    async with sessions() as session:
        invoices, _ = await invoices_repo.list_invoices(
            session, account_id=ACCOUNT, subscription_id="sub_1", limit=10
        )
        assert await invoices_repo.get_invoice(session, "in_2") is None
    assert [i.id for i in invoices] == ["in_1"]


async def test_racing_invoice_creations_agree_on_one(sessions: Sessions) -> None:
    async def create(invoice_id: str) -> tuple[str, bool]:
        async with sessions() as session, session.begin():
            invoice, created = await invoices_repo.create_invoice(
                session, invoice_values(invoice_id)
            )
            return invoice.id, created

    results = await asyncio.gather(*(create(f"in_{n}") for n in range(5)))
    assert len({invoice_id for invoice_id, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1


async def test_an_invoice_id_reused_for_another_period_is_refused(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await invoices_repo.create_invoice(session, invoice_values("in_1"))
    with pytest.raises(ValueError, match="another period"):
        async with sessions() as session, session.begin():
            await invoices_repo.create_invoice(
                session, invoice_values("in_1", period_start=T0 + timedelta(days=31))
            )


async def test_invoice_updates_never_go_backwards(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await invoices_repo.create_invoice(session, invoice_values())

    async def update(status: invoices_repo.InvoiceStatus, attempts: int, paid: int = 0) -> bool:
        async with sessions() as session, session.begin():
            return await invoices_repo.update_invoice(
                session,
                "in_1",
                status=status,
                amount_paid=paid,
                attempt_count=attempts,
                next_payment_attempt=T0 + timedelta(days=3) if status == "open" else None,
                payment_id=f"pay_{attempts}",
                updated_at=T0 + timedelta(days=attempts),
            )

    assert await update("open", 1)
    assert await update("open", 2)
    assert not await update("open", 1), "a late write of an older attempt"
    assert await update("uncollectible", 3)
    assert not await update("open", 4), "uncollectible is not reopened"
    assert await update("paid", 4, paid=2900), "an uncollectible invoice can still be paid"
    assert not await update("void", 4)
    assert not await update("open", 5)
    async with sessions() as session:
        stored = await invoices_repo.get_invoice(session, "in_1", ACCOUNT)
        assert await invoices_repo.get_invoice(session, "in_1", "acct_2") is None
    assert stored is not None
    assert (stored.status, stored.amount_paid, stored.attempt_count, stored.payment_id) == (
        "paid",
        2900,
        4,
        "pay_4",
    )
    assert stored.next_payment_attempt is None


async def test_invoices_page_newest_first(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for month in range(5):
            await invoices_repo.create_invoice(
                session,
                invoice_values(f"in_{month}", period_start=T0 + timedelta(days=31 * month)),
            )
        await invoices_repo.create_invoice(
            session, invoice_values("in_other", subscription_id="sub_2", created_at=T0)
        )
    async with sessions() as session:
        first, more = await invoices_repo.list_invoices(
            session, account_id=ACCOUNT, subscription_id="sub_1", limit=3
        )
        rest, more_after = await invoices_repo.list_invoices(
            session,
            account_id=ACCOUNT,
            subscription_id="sub_1",
            limit=3,
            starting_after=first[-1].id,
        )
        every, _ = await invoices_repo.list_invoices(session, account_id=ACCOUNT, limit=10)
        foreign, _ = await invoices_repo.list_invoices(session, account_id="acct_2", limit=10)
    assert ([i.id for i in first], more) == (["in_4", "in_3", "in_2"], True)
    assert ([i.id for i in rest], more_after) == (["in_1", "in_0"], False)
    assert len(every) == 6
    assert foreign == []


# ------------------------------------------------------------------ dunning


async def open_case(
    sessions: Sessions,
    invoice_id: str,
    amount: int,
    currency: str = "USD",
    account_id: str = ACCOUNT,
) -> bool:
    async with sessions() as session, session.begin():
        return await dunning_repo.open_dunning_case(
            session,
            invoice_id=invoice_id,
            subscription_id=f"sub_{invoice_id}",
            customer_id="cus_1",
            account_id=account_id,
            amount=amount,
            currency=currency,
            opened_at=T0,
        )


async def close_case(
    sessions: Sessions, invoice_id: str, outcome: dunning_repo.DunningOutcome
) -> bool:
    async with sessions() as session, session.begin():
        return await dunning_repo.close_dunning_case(
            session, invoice_id, outcome, T0 + timedelta(days=7)
        )


async def test_dunning_case_opens_and_closes_once(sessions: Sessions) -> None:
    assert await open_case(sessions, "in_1", 2900)
    assert not await open_case(sessions, "in_1", 1)
    assert await close_case(sessions, "in_1", "recovered")
    assert not await close_case(sessions, "in_1", "lost"), "the first outcome stands"
    assert not await open_case(sessions, "in_1", 2900), "a retried open does not reopen"
    assert not await close_case(sessions, "in_missing", "lost")
    async with sessions() as session:
        case = await dunning_repo.get_dunning_case(session, "in_1")
    assert case is not None
    assert (case.id, case.status, case.amount) == ("dun_in_1", "recovered", 2900)
    assert case.closed_at == T0 + timedelta(days=7)


async def test_dunning_figures(sessions: Sessions) -> None:
    async with sessions() as session:
        empty = await dunning_repo.dunning_figures(session)
    assert (empty.open_cases, empty.at_risk, empty.recovery_rate) == (0, {}, None)
    assert empty.recovery_rate_text() is None

    cases: list[tuple[str, int, str, dunning_repo.DunningOutcome | None]] = [
        ("in_1", 2900, "USD", None),
        ("in_2", 9900, "USD", None),
        ("in_3", 500, "JPY", None),
        ("in_4", 2900, "USD", "recovered"),
        ("in_5", 9900, "EUR", "recovered"),
        ("in_6", 2900, "USD", "lost"),
    ]
    for invoice_id, amount, currency, outcome in cases:
        await open_case(sessions, invoice_id, amount, currency)
        if outcome is not None:
            await close_case(sessions, invoice_id, outcome)
    await open_case(sessions, "in_foreign", 100_000, account_id="acct_2")
    await close_case(sessions, "in_foreign", "lost")

    async with sessions() as session:
        mine = await dunning_repo.dunning_figures(session, ACCOUNT)
        everyone = await dunning_repo.dunning_figures(session)
    assert mine == dunning_repo.DunningFigures(
        open_cases=3,
        at_risk={"USD": 12800, "JPY": 500},
        recovered_cases=2,
        recovered={"USD": 2900, "EUR": 9900},
        lost_cases=1,
    )
    assert mine.recovery_rate == Fraction(2, 3)
    assert mine.recovery_rate_text() == "0.667"
    assert (everyone.lost_cases, everyone.recovery_rate_text()) == (2, "0.500")


@pytest.mark.parametrize(
    ("recovered", "lost", "text"),
    [(1, 0, "1.000"), (0, 1, "0.000"), (1, 2, "0.333"), (1, 7, "0.125"), (1, 1999, "0.001")],
)
def test_recovery_rate_text_rounds_half_up(recovered: int, lost: int, text: str) -> None:
    figures = dunning_repo.DunningFigures(0, {}, recovered, {}, lost)
    assert figures.recovery_rate_text() == text
