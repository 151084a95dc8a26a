"""What Durapay's orchestration costs per payment, measured against bare Temporal on one dev server.

    uv run python -m bench.payments                      # 200 payments at 8, then 32 clients
    uv run python -m bench.payments --payments 400 --concurrency 4 16 64
    uv run python -m bench.payments --database postgres --cases bare durapay
    uv run python -m bench.payments --profile /tmp/prof  # py-spy stacks of the Durapay case

The cases run against one file-backed Temporal dev server (started here on free ports, like
``make dev`` starts it, and stopped at the end):

1. ``bare-2024`` and ``bare``: ``bench.bare_payment.BarePaymentWorkflow`` in the shape Durapay's
   automatic saved-card payment had until December 2026 (three local activities, two activities;
   started and awaited) and in its current one (six local activities, an upsert and the
   refund-window timer; answered by an update-with-start), each step returning at once, on a
   stock ``Worker`` (the SDK's default, sandboxed runner: bare Temporal as it comes). The
   ceilings (see ``bench/bare_payment.py``).
2. ``durapay``: ``POST /v1/payments`` through the real API app, the real worker (unsandboxed:
   ``worker.WORKFLOW_RUNNER``) and a migrated database (SQLite, or with ``--database postgres``
   a PostgreSQL server started here from Debian's binaries on a free 127.0.0.1 port), with
   ``bench.instant_provider`` standing in for Stripe. Whatever it costs beyond the bare cases is
   Durapay's own.
3. ``localstripe``: the same with Durapay's own ``python -m worker`` against localstripe: absolute
   end-to-end figures.

The API runs in this process, served through ``httpx.ASGITransport`` (no socket, no uvicorn),
together with the clients that load it (``bench.latency`` measures one client over a real
socket); the worker runs as its own process, so its CPU time and memory are measured alone, as
they would be in production. Each case first pays a few unmeasured warm-up payments. Every payment
must answer 201 ``succeeded`` (bare: settled or complete); anything else is counted as a failure.
``--profile`` also records both processes with py-spy during the ``durapay`` case, which slows
it: take figures from a run without it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)

from bench.bare_payment import PAYMENT_STATUS, SHAPES, BarePaymentWorkflow
from bench.harness import (
    MB,
    Report,
    Shape,
    child_named,
    cpu_seconds,
    history_shape,
    run_from_command_line,
    running_temporal,
    worker_process,
)
from contracts.risk_scoring import VELOCITY_FROM
from db.migrate import upgrade_to_head
from services.temporal_connection import connect_temporal
from settings import Environment, Settings
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import create_card_payment_method, running_localstripe
from tests.support.net import free_port
from tests.support.postgres import running_postgres

CASES = ("bare-2024", "bare", "durapay", "localstripe")
BARE_CASES = ("bare-2024", "bare")
WORKER_ARGV = {
    "bare-2024": ["-m", "bench.payment_worker", "bare"],
    "bare": ["-m", "bench.payment_worker", "bare"],
    "durapay": ["-m", "bench.payment_worker", "instant"],
    "localstripe": ["-m", "worker"],
}
RSS_SAMPLE_SECONDS = 0.25

Pay = Callable[[int], Awaitable[tuple[bool, str]]]
"""One payment by client ``slot``: whether it settled as expected, and its workflow ID."""


@dataclass(frozen=True)
class Batch:
    """One measured batch: ``payments`` payments shared by ``concurrency`` clients."""

    case: str
    concurrency: int
    payments: int
    wall: float
    latencies: list[float]
    failures: int
    worker_cpu: float
    worker_rss_peak: int
    driver_cpu: float
    server_cpu: float
    other_cores: float
    """Cores busy with anything but the worker, this process and Temporal (localstripe, and
    whatever else the machine runs): a figure taken on a busy machine is lower than it could be."""

    @property
    def throughput(self) -> float:
        return self.payments / self.wall

    def percentile(self, p: int) -> float:
        """Latency at percentile ``p`` in milliseconds (the inclusive method: never beyond the
        slowest payment measured)."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


# ------------------------------------------------------------------ processes


@contextmanager
def profiled(directory: Path | None, case: str, pids: dict[str, int]) -> Iterator[None]:
    """py-spy's collapsed stacks of each named process while the block runs (when asked for)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    recorders = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(directory / f"{case}-{role}.txt"),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, pid in pids.items()
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait(timeout=60)


# ------------------------------------------------------------------ load


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy, over all cores."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def drive(
    case: Case, concurrency: int, payments: int, server: psutil.Process
) -> tuple[Batch, list[str]]:
    """``payments`` payments taken one at a time by ``concurrency`` clients; CPU times are the
    differences across the batch, worker RSS the highest sample."""
    counter = itertools.count()
    latencies: list[float] = []
    workflow_ids: list[str] = []
    failures = 0
    worker = case.worker
    peak = worker.memory_info().rss

    async def client(slot: int) -> None:
        nonlocal failures
        while next(counter) < payments:
            started = time.perf_counter()
            ok, workflow_id = await case.pay(slot)
            latencies.append(time.perf_counter() - started)
            workflow_ids.append(workflow_id)
            failures += not ok

    async def sample_rss() -> None:
        nonlocal peak
        while True:
            await asyncio.sleep(RSS_SAMPLE_SECONDS)
            peak = max(peak, worker.memory_info().rss)

    ours = [worker, psutil.Process(), server]
    before = [cpu_seconds(process) for process in ours]
    busy_before = _busy_seconds()
    sampler = asyncio.create_task(sample_rss())
    started = time.perf_counter()
    await asyncio.gather(*(client(slot) for slot in range(concurrency)))
    wall = time.perf_counter() - started
    sampler.cancel()
    peak = max(peak, worker.memory_info().rss)
    used = [cpu_seconds(process) - b for process, b in zip(ours, before, strict=True)]
    busy = _busy_seconds() - busy_before
    batch = Batch(
        case=case.name,
        concurrency=concurrency,
        payments=payments,
        wall=wall,
        latencies=latencies,
        failures=failures,
        worker_cpu=used[0],
        worker_rss_peak=peak,
        driver_cpu=used[1],
        server_cpu=used[2],
        other_cores=max(0.0, busy - sum(used)) / wall,
    )
    return batch, workflow_ids


def bare_payments(client: Client, task_queue: str, case: str) -> Pay:
    """The bare workflow in the case's shape: awaited to completion (``bare-2024``), or started
    by an update-with-start that answers once it settled, as Durapay's API starts a payment."""
    shape = SHAPES[case]
    processing = TypedSearchAttributes([SearchAttributePair(PAYMENT_STATUS, "processing")])

    async def pay(slot: int) -> tuple[bool, str]:
        workflow_id = f"{case}_{uuid.uuid4().hex}"
        if not shape.settle:
            result = await client.execute_workflow(
                BarePaymentWorkflow.run, shape, id=workflow_id, task_queue=task_queue
            )
            return result == workflow_id, workflow_id
        status = await client.execute_update_with_start_workflow(
            BarePaymentWorkflow.settle,
            start_workflow_operation=WithStartWorkflowOperation(
                BarePaymentWorkflow.run,
                shape,
                id=workflow_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=processing,
            ),
        )
        return status == "succeeded", workflow_id

    return pay


def customers_for(payments: int) -> int:
    """How many customers ``payments`` payments are spread over: a typical customer pays a few
    times an hour, so each pays fewer times than risk scoring's velocity factor counts from
    (``VELOCITY_FROM`` in an hour), and no payment raises a velocity alert. One customer paying
    hundreds of times a minute is not the automatic card payment the figures are about."""
    return -(-payments // (VELOCITY_FROM - 1))


async def api_payments(
    api: httpx.AsyncClient, card_token: Callable[[], Awaitable[str]], customers: int
) -> Pay:
    """``POST /v1/payments`` with a saved card. Saved cards need a customer and an attached
    method, made here through the API before the clock starts: ``customers`` of them, paid in
    turn (``customers_for``)."""
    cards: list[tuple[str, str]] = []
    for index in range(customers):
        customer = await api.post("/v1/customers", json={"email": f"bench{index}@example.com"})
        customer.raise_for_status()
        customer_id: str = customer.json()["id"]
        method = await api.post(
            f"/v1/customers/{customer_id}/payment-methods",
            json={"provider": "stripe", "token": await card_token()},
        )
        method.raise_for_status()
        cards.append((customer_id, method.json()["id"]))
    turn = itertools.count()

    async def pay(slot: int) -> tuple[bool, str]:
        customer_id, method_id = cards[next(turn) % len(cards)]
        response = await api.post(
            "/v1/payments",
            json={
                "amount": 4999,
                "currency": "usd",
                "customer_id": customer_id,
                "payment_method_id": method_id,
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        body = response.json()
        ok = response.status_code == 201 and body.get("status") == "succeeded"
        return ok, str(body.get("id"))

    return pay


# ------------------------------------------------------------------ run


@dataclass(frozen=True)
class Case:
    """A case ready to be driven: its worker process and how one payment is made."""

    name: str
    worker: psutil.Process
    pay: Pay
    log: Path

    def warnings(self) -> str:
        """What the worker complained about: workflow tasks that outlasted 5 s (Temporal's
        TMPRL1104) and activity attempts that failed (each is retried)."""
        text = self.log.read_text(errors="replace")
        return (
            f"{text.count('TMPRL1104')} workflow tasks over 5 s,"
            f" {text.count('Completing activity as failed')} failed activity attempts"
        )


async def prepare(
    name: str,
    settings: Settings,
    client: Client,
    stack: AsyncExitStack,
    slots: int,
    warmup: int,
    measured: int,
) -> Case:
    """Start the case's worker on its own task queue, make the customers and cards of the
    ``measured`` payments to come and of the warm-up, and pay the unmeasured warm-up payments."""
    settings = settings.model_copy(update={"task_queue": f"bench-{name}-{uuid.uuid4().hex[:8]}"})
    log = settings.data_dir / f"worker-{name}.log"
    worker = await stack.enter_async_context(
        worker_process(WORKER_ARGV[name], settings, client, log)
    )
    if name in BARE_CASES:
        pay = bare_payments(client, settings.task_queue, name)
    else:
        api = await stack.enter_async_context(in_process_api(settings, client, timeout=120))

        async def instant_token() -> str:
            return f"tok_instant_{uuid.uuid4().hex[:12]}"

        async def localstripe_token() -> str:
            return await asyncio.to_thread(
                create_card_payment_method, settings.stripe_api_base, "4242424242424242"
            )

        token = instant_token if name == "durapay" else localstripe_token
        pay = await api_payments(api, token, customers_for(slots + warmup + measured))
    for slot in range(slots):
        await pay(slot)
    case = Case(name, worker, pay, log)
    await drive(case, 4, warmup, child_named("temporal"))
    return case


@asynccontextmanager
async def migrated_database(kind: str, data_dir: Path) -> AsyncIterator[str]:
    """The URL of a migrated database: a SQLite file in ``data_dir``, or a PostgreSQL server of
    its own (``tests.support.postgres``: Debian's binaries, a free 127.0.0.1 port, stopped and
    deleted at the end)."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'durapay.db'}"
        await upgrade_to_head(url)
        yield url
        return
    with running_postgres() as url:
        await upgrade_to_head(url)
        yield url


Results = dict[str, tuple[list[Batch], Shape]]


async def run(arguments: argparse.Namespace, data_dir: Path) -> Report:
    """Batches interleave the cases (bare-2024, bare, durapay, localstripe at 8 clients, then at
    32, ...), so that a change in the machine's load during the run falls on every case alike.
    Returns the report (markdown) and its ratios."""
    with running_localstripe() as stripe_url:
        async with migrated_database(arguments.database, data_dir) as database_url:
            settings = Settings.model_validate(
                {
                    "environment": Environment.TEST,
                    "data_dir": data_dir,
                    "database_url": database_url,
                    "temporal_address": f"127.0.0.1:{free_port()}",
                    "temporal_ui_port": free_port(),
                    "stripe_api_base": stripe_url,
                    # Long enough that every payment answers 201 with its outcome, even queued.
                    "payment_settle_wait": timedelta(minutes=2),
                }
            )
            with running_temporal(settings):
                results, warnings = await _measure(arguments, settings)
    text = "\n".join([report(results, arguments.database), "", *warnings])
    return Report(text, summary(results, arguments.database))


async def _measure(arguments: argparse.Namespace, settings: Settings) -> tuple[Results, list[str]]:
    client = await connect_temporal(settings)
    server = child_named("temporal")
    results: Results = {}
    async with AsyncExitStack() as stack:
        slots = max(arguments.concurrency)
        cases = [
            await prepare(
                name,
                settings,
                client,
                stack,
                slots,
                arguments.warmup,
                arguments.payments * len(arguments.concurrency),
            )
            for name in arguments.cases
        ]
        batches: dict[str, list[Batch]] = {case.name: [] for case in cases}
        ids: dict[str, list[str]] = {}
        for concurrency in arguments.concurrency:
            for case in cases:
                pids = {"worker": case.worker.pid, "api": os.getpid()}
                profile = arguments.profile if case.name == "durapay" else None
                with profiled(profile, f"durapay-x{concurrency}", pids):
                    batch, ids[case.name] = await drive(
                        case, concurrency, arguments.payments, server
                    )
                batches[case.name].append(batch)
                print(
                    f"  {case.name:<12} x{concurrency:<3} {batch.throughput:6.1f}"
                    f" payments/s, other processes {batch.other_cores:.2f} cores",
                    flush=True,
                )
        for case in cases:
            shape = await history_shape(client, ids[case.name])
            results[case.name] = (batches[case.name], shape)
        warnings = [f"- {case.name} worker: {case.warnings()}" for case in cases]
    return results, warnings


def report(results: Results, database: str) -> str:
    lines = [
        f"Database: {'PostgreSQL (Debian, local)' if database == 'postgres' else 'SQLite file'}.",
        "",
        "| case | clients | payments/s | p50 ms | p95 ms | p99 ms | failed | events | activities"
        " | local act. | worker CPU ms/payment | worker RSS peak MB | API+clients CPU ms/payment"
        " | Temporal server CPU ms/payment | other load (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, (batches, shape) in results.items():
        for b in batches:
            lines.append(
                f"| {case} | {b.concurrency} | {b.throughput:.1f} | {b.percentile(50):.0f}"
                f" | {b.percentile(95):.0f} | {b.percentile(99):.0f} | {b.failures}"
                f" | {shape.events} | {shape.activities} | {shape.local_activities}"
                f" | {b.worker_cpu * 1000 / b.payments:.1f} | {b.worker_rss_peak / MB:.0f}"
                f" | {b.driver_cpu * 1000 / b.payments:.1f}"
                f" | {b.server_cpu * 1000 / b.payments:.1f} | {b.other_cores:.2f} |"
            )
    bares = [name for name in BARE_CASES if name in results]
    if bares and "durapay" in results:
        lines += [
            "",
            "| clients | "
            + " | ".join(f"throughput durapay / {b} | p50 durapay - {b} ms" for b in bares)
            + " |",
            "|---:|" + "---:|---:|" * len(bares),
        ]
        for index, durapay in enumerate(results["durapay"][0]):
            cells = []
            for name in bares:
                bare = results[name][0][index]
                cells += [
                    f"{durapay.throughput / bare.throughput:.2f}",
                    f"{durapay.percentile(50) - bare.percentile(50):.0f}",
                ]
            lines.append(f"| {durapay.concurrency} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "`bare-2024`: the payment's shape until December 2026 (3 local activities,"
            " 2 activities, awaited to completion); `bare`: the all-local shape (6 local"
            " activities, an upsert, the refund-window timer; update-with-start), each step"
            " returning at once.",
        ]
    return "\n".join(lines)


def summary(results: Results, database: str) -> list[str]:
    """Durapay's throughput over each bare shape's, per concurrency."""
    if "durapay" not in results:
        return []
    durapay = results["durapay"][0]
    return [
        f"Throughput durapay / {name} ({database}): "
        + ", ".join(
            f"{d.throughput / b.throughput:.2f} at {d.concurrency} clients"
            for d, b in zip(durapay, results[name][0], strict=True)
        )
        for name in BARE_CASES
        if name in results
    ]


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--payments", type=int, default=200, help="per batch (default 200)")
    parse.add_argument(
        "--concurrency", type=int, nargs="+", default=[8, 32], help="clients per batch"
    )
    parse.add_argument("--warmup", type=int, default=20, help="unmeasured payments per case")
    parse.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parse.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parse.add_argument(
        "--profile", type=Path, help="write py-spy stacks of the durapay case to this directory"
    )
    return parse


def main() -> None:
    run_from_command_line(parser(), run)


if __name__ == "__main__":
    main()
