"""Credits and the ledger check through the API, in process, on SQLite and on PostgreSQL.

Consumes and transfers never reach Temporal (one database transaction each), so the app's client
is a lazy one that never connects. The starting balances are granted as a purchase's workflow
grants them (``ledger_moves.settle_funding``), without the payment.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from contracts.ledger import CREDITS, FundingKind, FundingStatus
from db.models import LedgerAccount, LedgerFunding
from db.repositories import ledger_moves
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY, Environment, Settings
from tests.support.in_process_api import in_process_api


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.model_validate(
        {"environment": Environment.TEST, "database_url": database_url, "data_dir": tmp_path}
    )
    client = await Client.connect("127.0.0.1:1", lazy=True)
    async with in_process_api(settings, client) as app:
        yield app


async def new_customer(api: httpx.AsyncClient) -> str:
    response = await api.post("/v1/customers", json={"email": "ada@example.com"})
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def grant_credits(
    sessions: async_sessionmaker[AsyncSession], customer_id: str, credits: int
) -> None:
    """What a succeeded purchase's workflow does: the funding, then its grant."""
    now = datetime.now(UTC)
    funding_id = f"ctx_{uuid.uuid4().hex[:24]}"
    async with sessions() as session, session.begin():
        await ledger_moves.add_funding(
            session,
            LedgerFunding(
                id=funding_id,
                account_id=DEV_ACCOUNT_ID,
                customer_id=customer_id,
                kind=FundingKind.CREDITS.value,
                amount=credits,
                currency=CREDITS,
                payment_id=f"pay_{funding_id}",
                status=FundingStatus.PENDING.value,
                request_hash="seeded",
                created_at=now,
                updated_at=now,
            ),
        )
        await ledger_moves.settle_funding(session, funding_id, True, now)


async def consume(
    api: httpx.AsyncClient, customer_id: str, credits: int, key: str | None = None
) -> httpx.Response:
    return await api.post(
        f"/v1/customers/{customer_id}/credits/consume",
        json={"credits": credits, "reason": "api_call"},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


async def credits_of(api: httpx.AsyncClient, customer_id: str) -> dict[str, int]:
    response = await api.get(f"/v1/customers/{customer_id}/credits")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


async def ledger_check(api: httpx.AsyncClient) -> dict[str, object]:
    response = await api.get(
        "/v1/admin/ledger/check", headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_30_concurrent_consumes_of_20_on_300_leave_exactly_zero(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer_id = await new_customer(api)
    await grant_credits(sessions, customer_id, 300)

    responses = await asyncio.gather(*(consume(api, customer_id, 20) for _ in range(30)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 15 + [402] * 15, [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 402)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "insufficient_credits"
    assert await credits_of(api, customer_id) == {
        "balance": 0,
        "lifetime_purchased": 300,
        "lifetime_consumed": 300,
    }
    history = await api.get(f"/v1/customers/{customer_id}/credits/transactions?limit=100")
    assert sorted(t["credits"] for t in history.json()["data"]) == [-20] * 15 + [300]
    check = await ledger_check(api)
    assert check["ok"] is True
    assert check["transactions"] == 16


async def test_50_concurrent_consumes_and_transfers_never_take_a_balance_below_zero(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    payer, payee = await new_customer(api), await new_customer(api)
    await grant_credits(sessions, payer, 500)

    def transfer() -> asyncio.Future[httpx.Response]:
        return asyncio.ensure_future(
            api.post(
                f"/v1/customers/{payer}/credits/transfer",
                json={"to_customer_id": payee, "credits": 30},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
        )

    requests = [consume(api, payer, 30) if i % 2 else transfer() for i in range(50)]
    responses = await asyncio.gather(*requests)

    succeeded = sum(r.status_code == 201 for r in responses)
    assert succeeded == 500 // 30
    assert {r.status_code for r in responses} == {201, 402}
    assert (await credits_of(api, payer))["balance"] == 500 - 30 * succeeded
    moved = sum(r.status_code == 201 for r in responses[::2])
    assert (await credits_of(api, payee))["balance"] == 30 * moved
    assert (await ledger_check(api))["ok"] is True


async def test_a_repeated_consume_takes_once_and_another_body_is_refused(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer_id = await new_customer(api)
    await grant_credits(sessions, customer_id, 100)

    first = await consume(api, customer_id, 60, key="k-1")
    again = await consume(api, customer_id, 60, key="k-1")
    other = await consume(api, customer_id, 10, key="k-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["id"].startswith("ctx_")
    assert first.json()["credits"] == -60
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert (await credits_of(api, customer_id))["balance"] == 40


async def test_a_transfer_above_the_recipients_limit_moves_nothing(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    payer, payee = await new_customer(api), await new_customer(api)
    await grant_credits(sessions, payer, 600)
    await grant_credits(sessions, payee, 999_700)

    refused = await api.post(
        f"/v1/customers/{payer}/credits/transfer",
        json={"to_customer_id": payee, "credits": 301},
        headers={"Idempotency-Key": "t-1"},
    )
    accepted = await api.post(
        f"/v1/customers/{payer}/credits/transfer",
        json={"to_customer_id": payee, "credits": 300},
        headers={"Idempotency-Key": "t-2"},
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "credit_balance_limit"
    assert accepted.status_code == 201, accepted.text
    assert (await credits_of(api, payer))["balance"] == 300
    assert (await credits_of(api, payee))["balance"] == 1_000_000


async def test_a_purchase_below_the_minimum_is_refused_before_any_payment(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await new_customer(api)

    response = await api.post(
        f"/v1/customers/{customer_id}/credits/purchase",
        json={"credits": 499, "payment_method_id": "pm_x"},
        headers={"Idempotency-Key": "p-1"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "credits_below_minimum"


async def test_the_check_finds_a_balance_that_disagrees_with_its_entries(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer_id = await new_customer(api)
    await grant_credits(sessions, customer_id, 500)
    assert (await ledger_check(api))["ok"] is True

    async with sessions() as session, session.begin():
        await session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.holder == customer_id)
            .values(balance=LedgerAccount.balance + 1)
        )

    check = await ledger_check(api)
    assert check["ok"] is False
    assert len(check["mismatched_balances"]) == 1  # type: ignore[arg-type]
