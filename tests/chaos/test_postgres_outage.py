"""The database unavailable for a while, PostgreSQL edition: the server shuts down, stays down,
and is started again on the same port and data directory.

While it shuts down (it refuses new connections: "the database system is shutting down") and
while it is down (the connection is refused), the API answers what needs the database with 503
``database_unavailable`` as problem+json, at once and without a trace of the underlying error;
unlike SQLite's lock, reads are refused too, since every request looks up its API key.

A payment whose provider call was in flight when the server went away is charged while nothing
can be written: the worker's writes fail and are retried; the charge is sent once, and its
success stands (failing to record the provider's health must not turn a confirmation that moved
money into a failed, retried one); once PostgreSQL is back, the pooled connections the shutdown
killed replaced (pre-ping), the payment is recorded once and reconciles. The request refused
during the outage, sent again with its Idempotency-Key, pays once. A restart no request saw
(every pooled connection dead, none known to be) costs the first request after it nothing.

On a stack of its own: a throwaway cluster, an in-process API and a worker whose Stripe calls go
through a fault proxy, which makes the in-flight payment's first confirmation fail (a provider
blip the worker's circuit then has to clear) and holds its second across the shutdown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from temporalio.exceptions import ApplicationError

from contracts.errors import ErrorType
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from sandbox.faults.proxy import Fault, FaultProxy
from tests.chaos.reconcile import reconcile
from tests.support.flows import CARD_OK, card_customer, new_key, pay, wait_for_status
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import intent_statuses
from tests.support.net import free_port
from tests.support.postgres import PostgresCluster, postgres_cluster
from tests.support.stack import Stack, make_settings
from worker import build_worker
from workflows.policies.retries import RECORD_TIMEOUT

pytestmark = pytest.mark.postgres

CONFIRM_DELAY = 6.0
"""How long the proxy holds the in-flight payment's second confirmation before forwarding it:
PostgreSQL is shut down within it (about a second), so the money moves while nothing can be
written."""
DOWN_AFTER_CHARGE = 4.0
"""How long PostgreSQL stays down once the charge is made: the worker's write of the result
fails several times meanwhile (its retries start 0.2 s apart and double)."""
REFUSAL_BOUND = 15.0
"""A refused request is answered well within this, even on a loaded machine: no hang."""
RECOVERY_TIMEOUT = 60.0
"""For a write that failed during the outage to be retried once PostgreSQL is back: the record
retry policy's backoff is up to 10 s, on a machine that may be busy."""
SHUTTING_DOWN = "57P03"
"""SQLSTATE cannot_connect_now: "the database system is shutting down" (or starting up)."""
CONFIRM = r"/v1/payment_intents/[^/]+/confirm"


@dataclass(frozen=True)
class Outage:
    stack: Stack
    """The session stack with this module's settings and database in place of its own."""
    cluster: PostgresCluster
    stripe: FaultProxy
    """Between this module's worker and localstripe."""
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as running:
        yield running


@pytest.fixture(scope="module")
async def outage(
    stack: Stack, cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outage]:
    settings = make_settings(
        tmp_path_factory.mktemp("postgres-outage"),
        stack.stripe_url,
        stack.settings.temporal_address,
        database_url=cluster.url,
        paypal_api_base=stack.settings.paypal_api_base,
        payment_settle_wait=3,
        provider_call_timeout=30,
    )
    await upgrade_to_head(settings.database_url)
    stripe = FaultProxy(stack.stripe_url)
    await stripe.start(free_port())
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    try:
        async with (
            build_worker(
                stack.client, settings.model_copy(update={"stripe_api_base": stripe.url}), sessions
            ),
            in_process_api(settings, stack.client, timeout=30) as api,
        ):
            yield Outage(
                dataclasses.replace(stack, settings=settings, sessions=sessions),
                cluster,
                stripe,
                api,
            )
    finally:
        await engine.dispose()
        await stripe.stop()


@asynccontextmanager
async def shutting_down(cluster: PostgresCluster) -> AsyncIterator[None]:
    """PostgreSQL in the middle of its shutdown, refusing new connections with 57P03, as a fast
    shutdown does while it writes its checkpoint (seconds, on a busy server). Held here
    deterministically: a smart shutdown waits for the last session to end, and the last one is
    ours, once it has ended every other (the API's and the worker's pooled connections). On
    exit it ends too, and the server is stopped."""
    direct = create_async_engine(cluster.url, poolclass=NullPool)
    try:
        async with direct.connect() as last:
            stopping = asyncio.create_task(asyncio.to_thread(cluster.stop, "smart"))
            try:
                await refusing_new_connections(direct)
                await last.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                )
                yield
            finally:
                await last.close()
                await stopping
    finally:
        await direct.dispose()


async def refusing_new_connections(direct: AsyncEngine, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            async with direct.connect():
                pass
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == SHUTTING_DOWN:
                return
            raise
        assert asyncio.get_running_loop().time() < deadline, "PostgreSQL never began shutting down"
        await asyncio.sleep(0.05)


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "database_unavailable"
    assert {"type", "title", "status", "detail"} <= problem.keys()
    for leak in ("traceback", "errno", "asyncpg", "sqlalchemy", "127.0.0.1", "shutting down"):
        assert leak not in response.text.lower(), response.text


async def succeeded_at_provider(stripe_url: str, payment_id: str, timeout: float = 30) -> None:
    """Poll localstripe until the payment's one intent has succeeded."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (statuses := intent_statuses(stripe_url, payment_id)) != ["succeeded"]:
        assert asyncio.get_running_loop().time() < deadline, f"{payment_id}: {statuses}"
        await asyncio.sleep(0.2)


def failed_attempts(
    caplog: pytest.LogCaptureFixture, payment_id: str, activity: str
) -> list[BaseException | None]:
    """The errors of one payment's failed attempts at one activity, as the worker logged them."""
    failures = []
    for record in caplog.records:
        info = getattr(record, "temporal_activity", {})
        if (
            record.getMessage().startswith("Completing activity as failed")
            and info.get("workflow_id") == payment_id
            and info.get("activity_type") == activity
        ):
            failures.append(record.exc_info[1] if record.exc_info else None)
    return failures


async def test_a_stopped_postgres_is_503_and_payments_in_flight_complete(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    api, stripe_url, proxy = outage.api, outage.stack.stripe_url, outage.stripe
    customer_id, method_id = await card_customer(api, stripe_url, CARD_OK)
    before = await pay(api, customer_id, method_id, amount=1000)
    assert before.status_code == 201, before.text
    assert before.json()["status"] == "succeeded"

    # In flight: its first confirmation meets a provider blip, its second is held at the proxy.
    proxy.add(Fault.STATUS, "POST", CONFIRM, times=1, status=503)
    held = proxy.add(Fault.DELAY, "POST", CONFIRM, times=1, seconds=CONFIRM_DELAY)
    in_flight = asyncio.create_task(pay(api, customer_id, method_id, amount=1250))
    await asyncio.wait_for(held.matched.wait(), timeout=60)
    held_at = time.monotonic()

    # Shutting down, then down: the same request refused twice, reads and writes alike.
    refused_key = new_key()
    async with shutting_down(outage.cluster):
        during_shutdown = await pay(api, customer_id, method_id, amount=2750, key=refused_key)
        assert_database_unavailable(during_shutdown)
    stopped_at = time.monotonic()
    assert stopped_at - held_at < CONFIRM_DELAY, "PostgreSQL stopped only after the charge"

    refused = await pay(api, customer_id, method_id, amount=2750, key=refused_key)
    assert time.monotonic() - stopped_at < REFUSAL_BOUND
    assert_database_unavailable(refused)
    assert_database_unavailable(await api.get(f"/v1/payments/{before.json()['id']}"))
    assert_database_unavailable(await api.post("/v1/customers", json={"email": "down@example.com"}))

    # The money moves while PostgreSQL is down; the worker cannot record it and keeps trying.
    accepted = await in_flight
    assert accepted.status_code in (201, 202), accepted.text
    in_flight_id = accepted.json()["id"]
    await succeeded_at_provider(stripe_url, in_flight_id)
    await asyncio.sleep(DOWN_AFTER_CHARGE)
    record_failures = failed_attempts(caplog, in_flight_id, "record_payment_transition")
    assert len(record_failures) >= 2, (
        f"no write retried while PostgreSQL was down: {record_failures!r}"
    )

    # Back: recorded once, charged once, and the refused request pays once when sent again.
    await asyncio.to_thread(outage.cluster.start)
    restarted_at = time.monotonic()

    paid = await wait_for_status(api, in_flight_id, "succeeded", RECOVERY_TIMEOUT)
    assert paid["amount_captured"] == 1250
    assert intent_statuses(stripe_url, in_flight_id) == ["succeeded"]
    confirmations = proxy.forwarded.count(
        ("POST", f"/v1/payment_intents/{paid['provider_reference']}/confirm")
    )
    assert confirmations == 1, f"the charge was sent {confirmations} times"
    confirm_failures = failed_attempts(caplog, in_flight_id, "confirm_intent")
    blip = confirm_failures[0] if confirm_failures else None
    assert (
        len(confirm_failures) == 1
        and isinstance(blip, ApplicationError)
        and blip.type == ErrorType.PROVIDER_UNAVAILABLE
    ), (
        "only the injected provider blip may fail a confirmation; one that had moved the money "
        f"was reported failed because the database was down: {confirm_failures!r}"
    )

    retried = await pay(api, customer_id, method_id, amount=2750, key=refused_key)
    assert retried.status_code in (201, 202), retried.text
    retried_id = retried.json()["id"]
    settled = await wait_for_status(api, retried_id, "succeeded", RECOVERY_TIMEOUT)
    assert settled["amount_captured"] == 2750
    again = await pay(api, customer_id, method_id, amount=2750, key=refused_key)
    assert (again.status_code, again.json()["id"]) == (200, retried_id), again.text
    assert intent_statuses(stripe_url, retried_id) == ["succeeded"]

    # A restart nothing noticed: every pooled connection died with the server, and the very
    # first request after it is served all the same (pre-ping replaces them before use).
    await asyncio.to_thread(outage.cluster.stop, "fast")
    await asyncio.to_thread(outage.cluster.start)
    created = await api.post("/v1/customers", json={"email": "back@example.com"})
    assert created.status_code == 201, created.text
    payments = {before.json()["id"]: 1000, in_flight_id: 1250, retried_id: 2750}
    for payment_id, amount in payments.items():
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["amount_captured"] == amount
    await reconcile(outage.stack, payments)

    # Temporal's SDK core (temporalio 1.35) leaves a start-to-close timer running for each failed
    # local-activity attempt; one that fires after the worker has shut down panics ("receive
    # half not dropped") on stderr. Outliving the outage's attempts by that timeout keeps the
    # noise out of whichever test runs next; it costs a few seconds at most.
    await asyncio.sleep(max(RECORD_TIMEOUT.total_seconds() - (time.monotonic() - restarted_at), 0))
