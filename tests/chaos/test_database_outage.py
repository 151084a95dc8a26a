"""The database unavailable for a while: another process holds SQLite's write lock
(``BEGIN EXCLUSIVE`` on the same file). The API answers what it cannot write with 503
``database_unavailable`` as problem+json, within its lock wait rather than a hang; reads go on
(WAL readers never wait for a writer); a payment made during the outage is charged once and,
when the lock is released, its records are written by the retried activities and it reconciles.

On a stack of its own (database, in-process API, worker with a short lock wait so its writes
fail and retry during the outage instead of merely waiting it out), so the session stack's
database is never locked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from services.runtime import DATABASE_LOCK_WAIT
from tests.chaos.reconcile import reconcile
from tests.support.flows import CARD_OK, card_customer, pay
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import intent_statuses
from tests.support.stack import Stack, make_settings
from worker import build_worker

OUTAGE_SECONDS = 8.0
WORKER_LOCK_WAIT = 0.5
"""Far below the outage: every database write of the worker fails several times, then retries."""


@dataclass(frozen=True)
class Outage:
    stack: Stack
    """The session stack with this module's settings, database and API in place of its own."""
    database: Path
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
async def outage(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Outage]:
    directory = tmp_path_factory.mktemp("database-outage")
    settings = make_settings(
        directory,
        stack.stripe_url,
        stack.settings.temporal_address,
        paypal_api_base=stack.settings.paypal_api_base,
        payment_settle_wait=3,
    )
    await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url, lock_wait=WORKER_LOCK_WAIT)
    sessions = create_session_factory(engine)
    try:
        async with (
            build_worker(stack.client, settings, sessions),
            in_process_api(settings, stack.client, timeout=30) as api,
        ):
            database = make_url(settings.database_url).database
            assert database is not None
            yield Outage(
                dataclasses.replace(stack, settings=settings, sessions=sessions),
                Path(database),
                api,
            )
    finally:
        await engine.dispose()


@asynccontextmanager
async def write_locked(database: Path) -> AsyncIterator[None]:
    """Another connection's exclusive transaction on the file, rolled back at the end. While the
    worker is writing, taking it fails; it is retried here, with the event loop free (the API and
    worker under test run on it), rather than in SQLite's blocking busy wait."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=0.05)
    try:
        for attempt in range(50):
            try:
                holder.execute("BEGIN EXCLUSIVE")
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


async def recorded_as_succeeded(
    api: httpx.AsyncClient, payment_id: str, timeout: float = 60
) -> dict[str, Any]:
    """Poll until the payment reads ``succeeded``. Its row may not exist yet: a write that failed
    during the outage is retried on the record retry policy's backoff (up to 10 s apart), and
    ``GET /v1/payments/{id}`` reads only the database, so 404 means "not recorded yet" here."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.get(f"/v1/payments/{payment_id}")
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200 and response.json()["status"] == "succeeded":
            payment: dict[str, Any] = response.json()
            return payment
        assert asyncio.get_running_loop().time() < deadline, f"{payment_id}: {response.text}"
        await asyncio.sleep(0.2)


async def test_a_locked_database_is_503_and_payments_made_meanwhile_complete(
    outage: Outage,
) -> None:
    api = outage.api
    customer_id, method_id = await card_customer(api, outage.stack.stripe_url, CARD_OK)
    just_before = asyncio.create_task(pay(api, customer_id, method_id, amount=1250))
    await asyncio.sleep(0.3)

    async with write_locked(outage.database):
        locked_at = time.monotonic()
        refused = await api.post("/v1/customers", json={"email": "locked@example.com"})
        waited = time.monotonic() - locked_at
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["code"] == "database_unavailable"
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert DATABASE_LOCK_WAIT <= waited < DATABASE_LOCK_WAIT + 5

        during = await pay(api, customer_id, method_id, amount=2750)
        assert during.status_code == 202, during.text
        assert during.json()["status"] == "processing"
        read = await api.get(f"/v1/customers/{customer_id}")
        assert read.status_code == 200, read.text

        await asyncio.sleep(max(OUTAGE_SECONDS - (time.monotonic() - locked_at), 0))
        assert intent_statuses(outage.stack.stripe_url, during.json()["id"]) == [], (
            "money moved before the payment could be recorded"
        )
        before = await just_before
        assert before.status_code in (201, 202), before.text

    payments = {before.json()["id"]: 1250, during.json()["id"]: 2750}
    for payment_id, amount in payments.items():
        paid = await recorded_as_succeeded(api, payment_id)
        assert paid["amount_captured"] == amount
        assert intent_statuses(outage.stack.stripe_url, payment_id) == ["succeeded"]
    created = await api.post("/v1/customers", json={"email": "after@example.com"})
    assert created.status_code == 201, created.text
    await reconcile(outage.stack, payments)
