"""How many subscriptions Temporal's time-skipping server takes through a simulated year, per
minute of wall time: Durapay with the real worker, real localstripe and a real SQLite database,
then a bare workflow of the same shape.

    uv run python -m bench.subscription_year --subscriptions 20
    uv run python -m bench.subscription_year --subscriptions 20 --payment-shape bare-2024

Durapay: every customer and card is created through the API (in process), its mails go to
``make dev``'s mail sink; each subscription is on
Pro monthly with no trial, so the year bills 13 invoices each (the first at once, then twelve
renewals). Bare: ``bench.bare_subscription.BareSubscriptionWorkflow``, the same timers,
activities, local activities, upserts, child payments and signals per billing cycle, each
activity returning at once, its invoice payments in the ``--payment-shape`` of
``bench/bare_payment.py``; on a time-skipping server of its own after Durapay's. Server time
advances a day at a time (one long skip across renewals stalls the test server). It prints, per
case, the wall time, the subscription-years per minute, the invoices per second and the events of
one billing-cycle run (a completed run that continued as new), then Durapay's rate over bare's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare_payment import SHAPES, BarePaymentWorkflow, instant_step
from bench.bare_subscription import BareSubscription, BareSubscriptionWorkflow
from bench.harness import Report, running_mail_sink
from contracts.search_attributes import SEARCH_ATTRIBUTES
from contracts.subscriptions import PlanInterval, PlanTerms, SubscriptionInput
from db.migrate import upgrade_to_head
from db.repositories import invoices as invoices_repo
from db.session import create_engine, create_session_factory
from services.payload_codec import data_converter
from services.terms import billing_terms
from settings import Environment, Settings
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import create_card_payment_method, running_localstripe
from tests.support.paths import TEMPORAL_TEST_SERVER
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow

DAYS = 365
REFUND_WINDOW = timedelta(days=400)
"""Longer than the year: see tests/support/subscriptions.py on abandoned children."""
PRO_MONTHLY = PlanTerms("pro_monthly", "Pro (monthly)", 2900, "USD", PlanInterval.MONTH)


async def _subscribe(
    api: httpx.AsyncClient, env: WorkflowEnvironment, settings: Settings, index: int
) -> str:
    """A customer and card through the API, then the workflow started the way the API starts it
    but with a plain start: the time-skipping server stalls its clock after an update-with-start
    (``POST /v1/subscriptions``), which the real server does not."""
    email = f"bench{index}@example.com"
    customer = await api.post("/v1/customers", json={"email": email})
    customer_id: str = customer.json()["id"]
    token = await asyncio.to_thread(
        create_card_payment_method, settings.stripe_api_base, "4242424242424242"
    )
    method = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "stripe", "token": token},
    )
    subscription_id = f"sub_bench{uuid.uuid4().hex[:12]}"
    await env.client.start_workflow(
        SubscriptionWorkflow.run,
        SubscriptionInput(
            subscription_id=subscription_id,
            account_id="acct_dev",
            customer_id=customer_id,
            plan=PRO_MONTHLY,
            trial_days=0,
            billing=billing_terms(settings, PRO_MONTHLY.id, subscription_id),
            created_at=await env.get_current_time(),
            payment_method_id=method.json()["id"],
        ),
        id=subscription_id,
        task_queue=settings.task_queue,
    )
    return subscription_id


async def _cycle_run_events(client: Client, subscription_id: str) -> int:
    """Events in the run before the current one: one complete billing cycle."""
    current = await client.get_workflow_handle(subscription_id).fetch_history()
    started = current.events[0].workflow_execution_started_event_attributes
    previous = client.get_workflow_handle(
        subscription_id, run_id=started.continued_execution_run_id
    )
    return len((await previous.fetch_history()).events)


async def _register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


@dataclass(frozen=True)
class Year:
    """One case's simulated year: wall time, invoices per subscription, events of a cycle run."""

    subscriptions: int
    wall: float
    invoices: list[int]
    cycle_events: list[int]

    @property
    def per_minute(self) -> float:
        return self.subscriptions * 60 / self.wall


async def _simulate_year(env: WorkflowEnvironment) -> float:
    """Advance the server a day at a time through the year; the wall time it took."""
    started = time.monotonic()
    for _ in range(DAYS):
        await env.sleep(timedelta(days=1))
    return time.monotonic() - started


async def _time_skipping(settings: Settings) -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER),
        data_converter=data_converter(settings),
    )
    await _register_search_attributes(env.client)
    return env


async def durapay_year(subscriptions: int, settings: Settings) -> Year:
    """Durapay's worker, API and database through the year (localstripe at ``settings``)."""
    await upgrade_to_head(settings.database_url)
    # The worker's own engine (worker.run_worker): one connection on the event loop.
    engine = create_engine(settings.database_url, queue_writers=True)
    sessions = create_session_factory(engine)
    env = await _time_skipping(settings)
    try:
        async with (
            in_process_api(settings, env.client) as api,
            build_worker(env.client, settings, sessions),
        ):
            ids = [await _subscribe(api, env, settings, i) for i in range(subscriptions)]
            wall = await _simulate_year(env)
            async with sessions() as session:
                counts = [
                    len(
                        (
                            await invoices_repo.list_invoices(
                                session, account_id="acct_dev", subscription_id=sid, limit=100
                            )
                        )[0]
                    )
                    for sid in ids
                ]
            events = [await _cycle_run_events(env.client, sid) for sid in ids[:5]]
    finally:
        await env.shutdown()
        await engine.dispose()
    return Year(subscriptions, wall, counts, events)


async def bare_year(subscriptions: int, settings: Settings, payment_shape: str) -> Year:
    """``BareSubscriptionWorkflow`` through the year: the same timers, activities, child
    payments and signals per billing cycle as Durapay's, every activity returning at once."""
    task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    env = await _time_skipping(settings)
    try:
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[BareSubscriptionWorkflow, BarePaymentWorkflow],
            activities=[instant_step],
        ):
            # Children sleep in their refund window past the year, as Durapay's do here.
            payment = replace(SHAPES[payment_shape], refund_window=REFUND_WINDOW.total_seconds())
            cycle = BareSubscription(period=timedelta(days=30).total_seconds(), payment=payment)
            ids = [f"sub_bare{uuid.uuid4().hex[:12]}" for _ in range(subscriptions)]
            for subscription_id in ids:
                await env.client.start_workflow(
                    BareSubscriptionWorkflow.run, cycle, id=subscription_id, task_queue=task_queue
                )
            wall = await _simulate_year(env)
            counts = [
                await env.client.get_workflow_handle(sid).query(BareSubscriptionWorkflow.invoices)
                for sid in ids
            ]
            events = [await _cycle_run_events(env.client, sid) for sid in ids[:5]]
    finally:
        await env.shutdown()
    return Year(subscriptions, wall, counts, events)


async def run(subscriptions: int, data_dir: Path, payment_shape: str) -> Report:
    """Durapay's year, then the bare one; returns the report (markdown)."""
    with running_localstripe() as stripe_url, running_mail_sink(data_dir / "mail") as smtp_port:
        settings = Settings.model_validate(
            {
                "environment": Environment.TEST,
                "data_dir": data_dir,
                "database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
                "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
                "stripe_api_base": stripe_url,
                "smtp_port": smtp_port,
                "refund_window": REFUND_WINDOW,
            }
        )
        durapay = await durapay_year(subscriptions, settings)
    bare = await bare_year(subscriptions, settings, payment_shape)
    return report({"durapay": durapay, f"bare ({payment_shape} payments)": bare})


def report(years: dict[str, Year]) -> Report:
    lines = [
        f"{DAYS} simulated days, Pro monthly, no trial (13 invoices a year each).",
        "",
        "| case | subscriptions | invoices (min-max each) | wall s | subscription-years/min"
        " | invoices/s | events per billing-cycle run |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, year in years.items():
        invoices = sum(year.invoices)
        lines.append(
            f"| {name} | {year.subscriptions} | {invoices} ({min(year.invoices)}-"
            f"{max(year.invoices)}) | {year.wall:.1f} | {year.per_minute:.1f}"
            f" | {invoices / year.wall:.1f} | {statistics.median(year.cycle_events):.0f} |"
        )
    durapay, bare = years["durapay"], next(y for n, y in years.items() if n != "durapay")
    ratio = durapay.per_minute / bare.per_minute
    lines += ["", f"Durapay / bare subscription-years per minute: {ratio:.2f}."]
    summary = (
        f"Subscription-years per minute: durapay {durapay.per_minute:.1f},"
        f" bare {bare.per_minute:.1f}, ratio {ratio:.2f}"
    )
    return Report("\n".join(lines), [summary])


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--subscriptions", type=int, default=20)
    parse.add_argument(
        "--payment-shape",
        choices=sorted(SHAPES),
        default="bare",
        help="shape of the bare case's invoice payments (bench/bare_payment.py)",
    )
    return parse


def main() -> None:
    arguments = parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
        result = asyncio.run(run(arguments.subscriptions, Path(data_dir), arguments.payment_shape))
    print(result.text)


if __name__ == "__main__":
    main()
