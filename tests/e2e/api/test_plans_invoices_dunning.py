"""The read side of subscription billing over HTTP: the plan catalog loaded at start, invoices of
the caller's account only, and the operators' dunning figures.

Invoices and dunning cases are written here with the ``db.billing`` functions the billing
activities use; the shared database also holds other tests' rows, so each test looks only at its
own (fresh ids) and dunning figures are compared before and after.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from db.repositories import dunning as dunning_repo
from db.repositories import invoice_numbers as invoice_numbers_repo
from db.repositories import invoices as invoices_repo
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY
from tests.support.stack import Stack

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}, timeout=30
    ) as client:
        yield client


def fresh_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


async def add_invoice(
    stack: Stack,
    subscription_id: str,
    month: int,
    *,
    account_id: str = DEV_ACCOUNT_ID,
    status: invoices_repo.InvoiceStatus = "open",
) -> str:
    """The invoice of the subscription's ``month``-th period, created a month after the previous."""
    invoice_id = fresh_id("in_")
    start = T0 + timedelta(days=31 * month)
    end = start + timedelta(days=31)
    async with stack.sessions() as session, session.begin():
        stored, _ = await invoices_repo.create_invoice(
            session,
            {
                "id": invoice_id,
                "subscription_id": subscription_id,
                "customer_id": "cus_billing_reader",
                "account_id": account_id,
                "amount_due": 2900,
                "amount_paid": 0,
                "currency": "USD",
                "status": "open",
                "lines": [
                    {
                        "description": "Pro (monthly)",
                        "amount": 2900,
                        "period_start": start.isoformat(),
                        "period_end": end.isoformat(),
                    }
                ],
                "period_start": start,
                "period_end": end,
                "attempt_count": 0,
                "next_payment_attempt": None,
                "payment_id": None,
                "created_at": start,
                "updated_at": start,
            },
        )
        await invoice_numbers_repo.number_invoice(session, stored)
        if status != "open":
            await invoices_repo.update_invoice(
                session,
                invoice_id,
                status=status,
                amount_paid=2900 if status == "paid" else 0,
                attempt_count=1,
                next_payment_attempt=None,
                payment_id="pay_for_invoice",
                updated_at=start + timedelta(hours=1),
            )
    return invoice_id


# ------------------------------------------------------------------ plans


async def test_plans_are_the_default_catalog(api: httpx.AsyncClient, stack: Stack) -> None:
    response = await api.get("/v1/plans")
    async with httpx.AsyncClient(base_url=stack.api_url) as anonymous:
        unauthenticated = await anonymous.get("/v1/plans")

    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False
    assert [
        (p["id"], p["amount"], p["currency"], p["interval"], p["trial_days"]) for p in body["data"]
    ] == [
        ("free", 0, "USD", "month", 0),
        ("pro_monthly", 2900, "USD", "month", 14),
        ("team_monthly", 9900, "USD", "month", 14),
        ("pro_yearly", 29000, "USD", "year", 14),
        ("team_yearly", 99000, "USD", "year", 14),
    ]
    assert body["data"][1]["name"] == "Pro (monthly)"
    assert unauthenticated.status_code == 401


# ------------------------------------------------------------------ invoices


async def test_invoices_of_a_subscription_page_newest_first(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    subscription_id = fresh_id("sub_")
    oldest, middle, newest = [await add_invoice(stack, subscription_id, m) for m in range(3)]
    await add_invoice(stack, fresh_id("sub_"), 5)

    first = await api.get("/v1/invoices", params={"subscription_id": subscription_id, "limit": 2})
    rest = await api.get(
        "/v1/invoices",
        params={"subscription_id": subscription_id, "limit": 2, "starting_after": middle},
    )
    too_many = await api.get("/v1/invoices", params={"limit": 101})

    assert first.status_code == 200
    assert [i["id"] for i in first.json()["data"]] == [newest, middle]
    assert first.json()["has_more"] is True
    assert [i["id"] for i in rest.json()["data"]] == [oldest]
    assert rest.json()["has_more"] is False
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "validation_error"


async def test_an_invoice_shows_its_lines_and_attempts(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    subscription_id = fresh_id("sub_")
    invoice_id = await add_invoice(stack, subscription_id, 0, status="paid")

    response = await api.get(f"/v1/invoices/{invoice_id}")

    assert response.status_code == 200
    invoice = response.json()
    assert re.fullmatch(r"INV-2026-\d{6}", invoice.pop("number"))
    assert invoice == {
        "id": invoice_id,
        "subscription_id": subscription_id,
        "customer_id": "cus_billing_reader",
        "amount_due": 2900,
        "amount_paid": 2900,
        "currency": "USD",
        "status": "paid",
        "lines": [
            {
                "description": "Pro (monthly)",
                "amount": 2900,
                "period_start": "2026-03-01T12:00:00Z",
                "period_end": "2026-04-01T12:00:00Z",
            }
        ],
        "attempt_count": 1,
        "next_payment_attempt": None,
        "created_at": "2026-03-01T12:00:00Z",
    }


async def test_another_accounts_invoice_is_not_found(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription_id = fresh_id("sub_")
    foreign = await add_invoice(stack, subscription_id, 0, account_id="acct_someone_else")

    shown = await api.get(f"/v1/invoices/{foreign}")
    listed = await api.get("/v1/invoices", params={"subscription_id": subscription_id})
    after_foreign = await api.get("/v1/invoices", params={"starting_after": foreign})

    assert shown.status_code == 404
    assert shown.json()["code"] == "not_found"
    assert listed.json() == {"data": [], "has_more": False}
    assert after_foreign.json() == {"data": [], "has_more": False}


# ------------------------------------------------------------------ dunning


async def open_case(stack: Stack, amount: int, currency: str) -> str:
    invoice_id = fresh_id("in_")
    async with stack.sessions() as session, session.begin():
        await dunning_repo.open_dunning_case(
            session,
            invoice_id=invoice_id,
            subscription_id=fresh_id("sub_"),
            customer_id="cus_billing_reader",
            account_id=DEV_ACCOUNT_ID,
            amount=amount,
            currency=currency,
            opened_at=T0,
        )
    return invoice_id


async def close_case(stack: Stack, invoice_id: str, outcome: dunning_repo.DunningOutcome) -> None:
    async with stack.sessions() as session, session.begin():
        assert await dunning_repo.close_dunning_case(
            session, invoice_id, outcome, T0 + timedelta(days=3)
        )


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """What changed per currency; currencies other tests moved meanwhile do not show up unless
    their amounts changed."""
    changes = {c: after.get(c, 0) - before.get(c, 0) for c in after.keys() | before.keys()}
    return {currency: change for currency, change in changes.items() if change}


async def test_dunning_figures_for_operators_only(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    before = (await admin.get("/v1/admin/dunning")).json()
    await open_case(stack, 2900, "USD")
    await open_case(stack, 5000, "JPY")
    recovered = await open_case(stack, 9900, "USD")
    lost = await open_case(stack, 29000, "USD")
    await close_case(stack, recovered, "recovered")
    await close_case(stack, lost, "lost")

    as_client = await api.get("/v1/admin/dunning")
    response = await admin.get("/v1/admin/dunning")

    assert as_client.status_code == 403
    assert as_client.json()["code"] == "forbidden"
    assert response.status_code == 200
    after: dict[str, Any] = response.json()
    assert after["open_cases"] - before["open_cases"] == 2
    assert delta(after["at_risk"], before["at_risk"]) == {"USD": 2900, "JPY": 5000}
    assert after["recovered_cases"] - before["recovered_cases"] == 1
    assert delta(after["recovered"], before["recovered"]) == {"USD": 9900}
    assert after["lost_cases"] - before["lost_cases"] == 1
    closed = after["recovered_cases"] + after["lost_cases"]
    expected_rate = (Decimal(after["recovered_cases"]) / closed).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP
    )
    assert after["recovery_rate"] == str(expected_rate)
