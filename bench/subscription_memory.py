"""Memory of Durapay's worker while many subscriptions sleep between billing cycles: it should
stay flat.

    uv run --frozen python -m bench.subscription_memory                    # 10,000, a row per 1,000
    uv run --frozen python -m bench.subscription_memory --subscriptions 2000 --step 250
    uv run --frozen python -m bench.subscription_memory --first-period paid --subscriptions 1000

One file-backed Temporal dev server (started here on free ports, like ``make dev`` starts it), a
migrated SQLite database and Durapay's real worker (``build_worker`` with the instant provider:
``python -m bench.payment_worker instant``) as its own process, so its memory is measured alone.
Subscriptions are started here with the Temporal client, not through the API, the way the API
starts them (an update-with-start of ``SubscriptionWorkflow.begun``), ``--concurrency`` at a time.
A subscription counts once ``begun`` has answered with the expected status: by then its workflow
task has also started the timer of ``_sleep_until_period_end``, so the workflow is asleep.

How they go to sleep (``--first-period``):

- ``trial`` (the default): a 30-day trial. It sleeps in the same ``_sleep_until_period_end`` as
  between two billing cycles, without an invoice. Chosen because it is cheap enough to reach
  10,000 in minutes on a small machine.
- ``paid``: no trial; the first period is invoiced and paid at once (instant provider, customers
  and cards written straight to the database beforehand), so the subscription sleeps between
  cycles exactly as after a renewal, and its invoice's PaymentWorkflow sleeps through its refund
  window beside it (two sleeping workflows per subscription). About four times slower to start
  (each start runs the subscription's and the payment's workflow tasks, three activities and
  three local activities): 2.1 subscriptions/s against 8.0 for ``trial``, measured back to back
  on a shared 2-core VM, so 10,000 would take over an hour.

After every ``--step`` subscriptions asleep (and none in flight) it samples the worker's and the
server's RSS and prints a row; after the last, it samples again every ``--idle-interval`` seconds
over ``--idle`` seconds in which nothing but the sleeping subscriptions exists. It prints the
worker's sticky cache size (``max_cached_workflows`` of the Worker ``build_worker`` makes): a
worker keeps at most that many workflows in memory and replays any other from its history when it
wakes, so the worker's memory should stop growing once that many are asleep. At the end it checks
that every subscription is still running and recorded in the database with the expected status,
and prints a markdown table for ``bench/results/`` with the machine it ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
from sqlalchemy import func, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.harness import (
    MB,
    child_named,
    cpu_seconds,
    machine,
    running_temporal,
    worker_process,
)
from bench.instant_provider import InstantProvider
from bench.payments import WORKER_ARGV
from bench.subscription_year import PRO_MONTHLY
from contracts.providers import ProviderName
from contracts.subscriptions import SubscriptionInput, SubscriptionStatus
from db.migrate import upgrade_to_head
from db.models import Customer, PaymentMethod, Subscription
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from db.session import create_engine, create_session_factory
from services.temporal_connection import connect_temporal
from services.terms import billing_terms
from settings import DEV_ACCOUNT_ID, Environment, Settings
from tests.support.net import free_port
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow

FIRST_PERIODS = ("trial", "paid")
EXPECTED = {"trial": SubscriptionStatus.TRIALING, "paid": SubscriptionStatus.ACTIVE}


@dataclass(frozen=True)
class Sample:
    """One row: the state of the processes with ``asleep`` subscriptions asleep."""

    asleep: int
    worker_rss: int
    server_rss: int
    elapsed: float
    rate: float | None
    """Subscriptions started per second over the step that ended here (None while idle)."""
    worker_cpu: float
    server_cpu: float
    """CPU seconds the worker and the server spent since the previous row."""
    load: float


@dataclass(frozen=True)
class Run:
    """What the subscriptions are and where they go."""

    client: Client
    settings: Settings
    first_period: str
    trial_days: int

    def customer_id(self, index: int) -> str:
        return f"cus_mem{index:06d}"

    def payment_method_id(self, index: int) -> str | None:
        return f"pm_mem{index:06d}" if self.first_period == "paid" else None

    async def start(self, index: int) -> None:
        """Start subscription ``index`` and return once it has begun, i.e. is asleep."""
        subscription_id = f"sub_mem{index:06d}"
        subscription = SubscriptionInput(
            subscription_id=subscription_id,
            account_id=DEV_ACCOUNT_ID,
            customer_id=self.customer_id(index),
            plan=PRO_MONTHLY,
            trial_days=self.trial_days if self.first_period == "trial" else 0,
            billing=billing_terms(self.settings, PRO_MONTHLY.id, subscription_id),
            created_at=datetime.now(UTC),
            payment_method_id=self.payment_method_id(index),
        )
        view = await self.client.execute_update_with_start_workflow(
            SubscriptionWorkflow.begun,
            start_workflow_operation=WithStartWorkflowOperation(
                SubscriptionWorkflow.run,
                subscription,
                id=subscription_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            ),
        )
        if view.status is not EXPECTED[self.first_period]:
            raise RuntimeError(f"{subscription_id} began {view.status}, not asleep")


async def add_customers(run: Run, count: int) -> None:
    """A customer with a default saved card for each paid subscription, written straight to the
    database (what ``POST /v1/customers`` and an attached card leave behind)."""
    engine = create_engine(run.settings.database_url)
    now = datetime.now(UTC)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for index in range(count):
                customer_id = run.customer_id(index)
                await customers_repo.add_customer(
                    session,
                    Customer(
                        id=customer_id,
                        account_id=DEV_ACCOUNT_ID,
                        email=f"mem{index}@example.com",
                        metadata_={},
                        stripe_customer_id=f"cus_instant_{customer_id}",
                        created_at=now,
                    ),
                )
                await payment_methods_repo.save_payment_method(
                    session,
                    PaymentMethod(
                        id=run.payment_method_id(index),
                        customer_id=customer_id,
                        provider=ProviderName.STRIPE.value,
                        provider_token=f"tok_instant_{index}",
                        type="card",
                        brand="visa",
                        last4="4242",
                        exp_month=12,
                        exp_year=2034,
                        created_at=now,
                    ),
                )
    finally:
        await engine.dispose()


async def recorded_statuses(settings: Settings) -> dict[str, int]:
    """Subscriptions in the database projection, by status."""
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(Subscription.status, func.count()).group_by(Subscription.status)
            )
            return dict(rows.all())
    finally:
        await engine.dispose()


async def sticky_cache_size(client: Client, settings: Settings) -> int:
    """``max_cached_workflows`` of the Worker ``build_worker`` makes (built, never run)."""
    engine = create_engine(settings.database_url)
    try:
        worker = build_worker(
            client,
            settings.model_copy(update={"task_queue": f"{settings.task_queue}-unpolled"}),
            create_session_factory(engine),
            providers={ProviderName.STRIPE: InstantProvider()},
        )
        return worker.config()["max_cached_workflows"]
    finally:
        await engine.dispose()


async def start_step(run: Run, indexes: range, concurrency: int) -> None:
    """Start ``indexes`` with at most ``concurrency`` in flight; return when all are asleep."""
    pending = iter(indexes)

    async def starter() -> None:
        for index in pending:
            await run.start(index)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(indexes))):
            group.create_task(starter())


class Sampler:
    """Rows of the worker's and the server's RSS and CPU time, printed as they are taken."""

    def __init__(self, worker: psutil.Process, server: psutil.Process) -> None:
        self.worker = worker
        self.server = server
        self.began = time.perf_counter()
        self.cpu = (cpu_seconds(worker), cpu_seconds(server))
        self.rows: list[Sample] = []

    def sample(self, asleep: int, rate: float | None) -> Sample:
        cpu = (cpu_seconds(self.worker), cpu_seconds(self.server))
        row = Sample(
            asleep=asleep,
            worker_rss=self.worker.memory_info().rss,
            server_rss=self.server.memory_info().rss,
            elapsed=time.perf_counter() - self.began,
            rate=rate,
            worker_cpu=cpu[0] - self.cpu[0],
            server_cpu=cpu[1] - self.cpu[1],
            load=os.getloadavg()[0],
        )
        self.cpu = cpu
        self.rows.append(row)
        rate_text = f"{row.rate:6.1f}/s" if row.rate is not None else "  idle  "
        print(
            f"  {row.asleep:>7} asleep  worker {row.worker_rss / MB:6.1f} MB"
            f" {row.worker_cpu:6.1f} s CPU  server {row.server_rss / MB:6.1f} MB"
            f" {row.server_cpu:6.1f} s CPU  {row.elapsed:7.1f} s  {rate_text}  load {row.load:.2f}",
            flush=True,
        )
        return row


async def run(arguments: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings.model_validate(
        {
            "environment": Environment.TEST,
            "data_dir": data_dir,
            "database_url": f"sqlite+aiosqlite:///{data_dir / 'durapay.db'}",
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": free_port(),
            "task_queue": f"bench-memory-{uuid.uuid4().hex[:8]}",
        }
    )
    total: int = arguments.subscriptions
    await upgrade_to_head(settings.database_url)
    with running_temporal(settings):
        client = await connect_temporal(settings)
        server = child_named("temporal")
        cache = await sticky_cache_size(client, settings)
        bench = Run(client, settings, arguments.first_period, arguments.trial_days)
        if bench.first_period == "paid":
            await add_customers(bench, total)
        print(
            f"{total} subscriptions, first period {bench.first_period}"
            + (f" ({bench.trial_days}-day trial)" if bench.first_period == "trial" else "")
            + f", {arguments.concurrency} starts in flight; worker max_cached_workflows {cache}",
            flush=True,
        )
        log = data_dir / "worker.log"
        async with worker_process(WORKER_ARGV["durapay"], settings, client, log) as worker:
            await asyncio.sleep(arguments.idle_interval)
            sampler = Sampler(worker, server)
            sampler.sample(0, None)
            for first in range(0, total, arguments.step):
                indexes = range(first, min(first + arguments.step, total))
                step_began = time.perf_counter()
                await start_step(bench, indexes, arguments.concurrency)
                rate = len(indexes) / (time.perf_counter() - step_began)
                sampler.sample(indexes.stop, rate)
            started_all = sampler.rows[-1].elapsed
            for _ in range(round(arguments.idle / arguments.idle_interval)):
                await asyncio.sleep(arguments.idle_interval)
                sampler.sample(total, None)
            running = await client.count_workflows(
                "WorkflowType = 'SubscriptionWorkflow' AND ExecutionStatus = 'Running'"
            )
        recorded = await recorded_statuses(settings)
    worker_log = log.read_text(errors="replace")
    print()
    print(machine())
    print(report(sampler.rows, arguments, cache, started_all))
    print()
    print(
        f"- Running SubscriptionWorkflows at the end: {running.count};"
        f" database projection: {recorded}"
    )
    print(
        f"- Worker log: {worker_log.count('TMPRL1104')} workflow tasks over 5 s,"
        f" {worker_log.count('Traceback')} tracebacks"
    )
    expected = EXPECTED[bench.first_period].value
    if running.count != total or recorded.get(expected) != total:
        raise SystemExit(f"expected {total} running and recorded {expected}")


def report(
    rows: Sequence[Sample], arguments: argparse.Namespace, cache: int, started_all: float
) -> str:
    total = arguments.subscriptions
    first_period = (
        f"{arguments.trial_days}-day trial"
        if arguments.first_period == "trial"
        else "first period paid (instant provider; its payment sleeps too)"
    )
    lines = [
        "",
        f"Subscriptions asleep: {first_period}; {arguments.concurrency} starts in flight;"
        f" worker max_cached_workflows {cache}; {total} started in {started_all:.0f} s"
        f" ({total / started_all:.1f}/s).",
        "",
        "| subscriptions asleep | worker RSS MB | server RSS MB | elapsed s | start rate /s"
        " | worker CPU ms/start | server CPU ms/start | load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous = 0
    for row in rows:
        started = row.asleep - previous
        previous = row.asleep
        rate, worker_cpu, server_cpu = (
            (
                f"{row.rate:.1f}",
                f"{row.worker_cpu * 1000 / started:.0f}",
                f"{row.server_cpu * 1000 / started:.0f}",
            )
            if row.rate is not None and started
            else ("idle", f"({row.worker_cpu:.1f} s)", f"({row.server_cpu:.1f} s)")
        )
        lines.append(
            f"| {row.asleep} | {row.worker_rss / MB:.0f} | {row.server_rss / MB:.0f}"
            f" | {row.elapsed:.0f} | {rate} | {worker_cpu} | {server_cpu} | {row.load:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=1000, help="subscriptions per row")
    parser.add_argument("--concurrency", type=int, default=32, help="starts in flight")
    parser.add_argument("--first-period", choices=FIRST_PERIODS, default="trial")
    parser.add_argument("--trial-days", type=int, default=30)
    parser.add_argument("--idle", type=float, default=60, help="seconds sampled after the last")
    parser.add_argument("--idle-interval", type=float, default=10)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
        asyncio.run(run(arguments, Path(data_dir)))


if __name__ == "__main__":
    main()
