"""What Durapay's orchestration costs per payment, measured against bare Temporal on one dev server.

    uv run python -m bench.payments                      # 200 payments at 8, then 32 clients
    uv run python -m bench.payments --payments 400 --concurrency 4 16 64
    uv run python -m bench.payments --profile /tmp/prof  # py-spy stacks of the Durapay case

Three cases run one after another against one file-backed Temporal dev server (started here on
free ports, like ``make dev`` starts it, and stopped at the end):

1. ``bare``: ``bench.bare_payment.BarePaymentWorkflow``, the shape of an automatic saved-card
   payment (three local activities, two activities, each returning at once), started by a client
   and awaited. The ceiling.
2. ``durapay``: ``POST /v1/payments`` through the real API app, the real worker and a migrated
   SQLite database, with ``bench.instant_provider`` standing in for Stripe. Whatever it costs
   beyond ``bare`` is Durapay's own.
3. ``localstripe``: the same with Durapay's own ``python -m worker`` against localstripe: absolute
   end-to-end figures.

The API runs in this process, served through ``httpx.ASGITransport`` (no socket, no uvicorn),
together with the clients that load it; the worker runs as its own process, so its CPU time and
memory are measured alone, as they would be in production. Each case first pays a few unmeasured
warm-up payments. Every payment must answer 201 ``succeeded`` (``bare``: complete); anything else
is counted as a failure. ``--profile`` also records both processes with py-spy during the
``durapay`` case, which slows it: take figures from a run without it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.bare_payment import BarePaymentWorkflow
from db.migrate import upgrade_to_head
from sandbox.devstack import temporal_argv
from services.temporal_connection import connect_temporal
from settings import Environment, Settings
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import create_card_payment_method, running_localstripe
from tests.support.net import free_port
from tests.support.paths import TEMPORAL_CLI
from tests.support.processes import ROOT, running_process

CASES = ("bare", "durapay", "localstripe")
WORKER_ARGV = {
    "bare": ["-m", "bench.payment_worker", "bare"],
    "durapay": ["-m", "bench.payment_worker", "instant"],
    "localstripe": ["-m", "worker"],
}
SAMPLED_HISTORIES = 5
RSS_SAMPLE_SECONDS = 0.25
MB = 1024 * 1024

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


@dataclass(frozen=True)
class Shape:
    """What one payment leaves in Temporal (median over a few sampled histories)."""

    events: int
    activities: int
    local_activities: int
    workflow_tasks: int


# ------------------------------------------------------------------ processes


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _child_named(name: str) -> psutil.Process:
    return next(p for p in psutil.Process().children(recursive=True) if p.name() == name)


@contextmanager
def running_temporal(settings: Settings) -> Iterator[None]:
    """The dev server as ``make dev`` runs it (SQLite file with WAL, Durapay's search attributes),
    on the free ports ``settings`` names."""
    host, _, port = settings.temporal_address.rpartition(":")
    ui = f"http://{host}:{settings.temporal_ui_port}"
    with running_process(
        "temporal", temporal_argv(settings, host, int(port)), lambda: httpx.get(ui, timeout=1)
    ):
        yield


async def _wait_until_polled(client: Client, task_queue: str) -> None:
    """A batch's clock must not include the worker process importing and connecting."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    for _ in range(600):
        if (await client.workflow_service.describe_task_queue(request)).pollers:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no worker polled {task_queue} within a minute")


@asynccontextmanager
async def worker_process(
    case: str, settings: Settings, client: Client, log: Path
) -> AsyncIterator[psutil.Process]:
    """The case's worker as a child process polling ``settings.task_queue``, its output in
    ``log``; stopped by SIGTERM."""
    env = {
        **os.environ,
        "DURAPAY_ENVIRONMENT": settings.environment.value,
        "DURAPAY_DATABASE_URL": settings.database_url,
        "DURAPAY_TEMPORAL_ADDRESS": settings.temporal_address,
        "DURAPAY_TASK_QUEUE": settings.task_queue,
        "DURAPAY_STRIPE_API_BASE": settings.stripe_api_base,
        "DURAPAY_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *WORKER_ARGV[case], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    try:
        await _wait_until_polled(client, settings.task_queue)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


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
    before = [_cpu_seconds(process) for process in ours]
    busy_before = _busy_seconds()
    sampler = asyncio.create_task(sample_rss())
    started = time.perf_counter()
    await asyncio.gather(*(client(slot) for slot in range(concurrency)))
    wall = time.perf_counter() - started
    sampler.cancel()
    peak = max(peak, worker.memory_info().rss)
    used = [_cpu_seconds(process) - b for process, b in zip(ours, before, strict=True)]
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


async def history_shape(client: Client, workflow_ids: Sequence[str]) -> Shape:
    """Events up to the point the caller got its answer. A Durapay payment is still open then
    (asleep in its refund window): its history ends with that timer."""
    shapes = []
    for workflow_id in workflow_ids[:SAMPLED_HISTORIES]:
        events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        kinds = [event.event_type for event in events]
        shapes.append(
            (
                len(events),
                kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
                kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED),
                kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
            )
        )
    return Shape(*(int(statistics.median(column)) for column in zip(*shapes, strict=True)))


def bare_payments(client: Client, task_queue: str) -> Pay:
    async def pay(slot: int) -> tuple[bool, str]:
        workflow_id = f"bare_{uuid.uuid4().hex}"
        result = await client.execute_workflow(
            BarePaymentWorkflow.run, workflow_id, id=workflow_id, task_queue=task_queue
        )
        return result == workflow_id, workflow_id

    return pay


async def api_payments(api: httpx.AsyncClient, card_token: Callable[[], Awaitable[str]]) -> Pay:
    """``POST /v1/payments`` with a saved card. Saved cards need a customer and an attached
    method, made here through the API before the clock starts: one per client slot."""
    cards: list[tuple[str, str]] = []

    async def card_for(slot: int) -> tuple[str, str]:
        while len(cards) <= slot:
            customer = await api.post(
                "/v1/customers", json={"email": f"bench{len(cards)}@example.com"}
            )
            customer.raise_for_status()
            customer_id: str = customer.json()["id"]
            method = await api.post(
                f"/v1/customers/{customer_id}/payment-methods",
                json={"provider": "stripe", "token": await card_token()},
            )
            method.raise_for_status()
            cards.append((customer_id, method.json()["id"]))
        return cards[slot]

    async def pay(slot: int) -> tuple[bool, str]:
        customer_id, method_id = await card_for(slot)
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
    name: str, settings: Settings, client: Client, stack: AsyncExitStack, slots: int, warmup: int
) -> Case:
    """Start the case's worker on its own task queue, make every client slot's customer and card,
    and pay the unmeasured warm-up payments."""
    settings = settings.model_copy(update={"task_queue": f"bench-{name}-{uuid.uuid4().hex[:8]}"})
    log = settings.data_dir / f"worker-{name}.log"
    worker = await stack.enter_async_context(worker_process(name, settings, client, log))
    if name == "bare":
        pay = bare_payments(client, settings.task_queue)
    else:
        api = await stack.enter_async_context(in_process_api(settings, client, timeout=120))

        async def instant_token() -> str:
            return f"tok_instant_{uuid.uuid4().hex[:12]}"

        async def localstripe_token() -> str:
            return await asyncio.to_thread(
                create_card_payment_method, settings.stripe_api_base, "4242424242424242"
            )

        pay = await api_payments(api, instant_token if name == "durapay" else localstripe_token)
    for slot in range(slots):
        await pay(slot)
    case = Case(name, worker, pay, log)
    await drive(case, 4, warmup, _child_named("temporal"))
    return case


async def run(arguments: argparse.Namespace, data_dir: Path) -> None:
    """Batches interleave the cases (bare, durapay, localstripe at 8 clients, then at 32, ...),
    so that a change in the machine's load during the run falls on every case alike."""
    with running_localstripe() as stripe_url:
        settings = Settings.model_validate(
            {
                "environment": Environment.TEST,
                "data_dir": data_dir,
                "database_url": f"sqlite+aiosqlite:///{data_dir / 'durapay.db'}",
                "temporal_address": f"127.0.0.1:{free_port()}",
                "temporal_ui_port": free_port(),
                "stripe_api_base": stripe_url,
                # Long enough that every payment answers 201 with its outcome, even when queued.
                "payment_settle_wait": timedelta(minutes=2),
            }
        )
        await upgrade_to_head(settings.database_url)
        with running_temporal(settings):
            client = await connect_temporal(settings)
            server = _child_named("temporal")
            results: dict[str, tuple[list[Batch], Shape]] = {}
            async with AsyncExitStack() as stack:
                slots = max(arguments.concurrency)
                cases = [
                    await prepare(name, settings, client, stack, slots, arguments.warmup)
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
    print(machine())
    print(report(results))
    print("\n".join(["", *warnings]))


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    temporal = subprocess.run(
        [str(TEMPORAL_CLI), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return "\n".join(
        [
            f"- CPU: {cpu}, {psutil.cpu_count()} logical cores",
            f"- RAM: {psutil.virtual_memory().total / 1024**3:.1f} GiB",
            f"- OS: {platform.platform()}",
            f"- Python: {platform.python_version()}",
            f"- Temporal CLI: {temporal} (dev server, SQLite file with WAL)",
        ]
    )


def report(results: dict[str, tuple[list[Batch], Shape]]) -> str:
    lines = [
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
    if "bare" in results and "durapay" in results:
        lines += [
            "",
            "| clients | throughput durapay / bare | p50 durapay - bare ms |",
            "|---:|---:|---:|",
        ]
        for bare, durapay in zip(results["bare"][0], results["durapay"][0], strict=True):
            lines.append(
                f"| {bare.concurrency} | {durapay.throughput / bare.throughput:.2f}"
                f" | {durapay.percentile(50) - bare.percentile(50):.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200, help="per batch (default 200)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8, 32], help="clients per batch"
    )
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured payments per case")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument(
        "--profile", type=Path, help="write py-spy stacks of the durapay case to this directory"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
        asyncio.run(run(arguments, Path(data_dir)))


if __name__ == "__main__":
    main()
