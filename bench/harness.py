"""What every benchmark in ``bench/`` starts and reads: the Temporal dev server as ``make dev``
runs it, worker processes measured on their own, the histories payments leave, the machine.

Kept apart from the benchmarks so that each of them stays one readable module.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from sandbox.devstack import temporal_argv
from settings import Settings
from tests.support.net import free_port, wait_for_port
from tests.support.paths import TEMPORAL_CLI
from tests.support.processes import ROOT, running_process

MB = 1024 * 1024
SAMPLED_HISTORIES = 5
WORKER_START_TIMEOUT = 120.0
"""A cold worker imports for several seconds, and much longer on two busy cores."""


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def child_named(name: str) -> psutil.Process:
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


async def wait_until_polled(client: Client, task_queue: str) -> None:
    """A measurement's clock must not include the worker process importing and connecting."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    async with asyncio.timeout(WORKER_START_TIMEOUT):
        while True:
            if (await client.workflow_service.describe_task_queue(request)).pollers:
                return
            await asyncio.sleep(0.1)


def durapay_environment(settings: Settings) -> dict[str, str]:
    """The ``DURAPAY_*`` variables a worker or API process needs to join ``settings``' stack."""
    return {
        **os.environ,
        "DURAPAY_ENVIRONMENT": settings.environment.value,
        "DURAPAY_DATA_DIR": str(settings.data_dir),
        "DURAPAY_DATABASE_URL": settings.database_url,
        "DURAPAY_TEMPORAL_ADDRESS": settings.temporal_address,
        "DURAPAY_TASK_QUEUE": settings.task_queue,
        "DURAPAY_STRIPE_API_BASE": settings.stripe_api_base,
        "DURAPAY_LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def worker_process(
    argv: Sequence[str], settings: Settings, client: Client, log: Path
) -> AsyncIterator[psutil.Process]:
    """``python <argv>`` as a worker polling ``settings.task_queue``, its output in ``log``;
    yielded once it polls, stopped by SIGTERM."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=ROOT,
            env=durapay_environment(settings),
            stdout=output,
            stderr=output,
        )
    try:
        await wait_until_polled(client, settings.task_queue)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextmanager
def running_mail_sink(directory: Path) -> Iterator[int]:
    """``make dev``'s mail sink (``sandbox.mailsink``) as a process of its own on a free port,
    so that a worker's mails go somewhere, as in production, without sharing its CPU."""
    port = free_port()
    argv = [sys.executable, "-m", "sandbox.mailsink", "--port", str(port), "--dir", str(directory)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


@dataclass(frozen=True)
class Report:
    """A benchmark's markdown section, and the few lines of it that ``bench.suite`` repeats in
    its summary."""

    text: str
    summary: list[str]


@dataclass(frozen=True)
class Shape:
    """What one payment leaves in Temporal (median over a few sampled histories)."""

    events: int
    activities: int
    local_activities: int
    workflow_tasks: int


async def event_types(client: Client, workflow_id: str) -> list[str]:
    """The history's event types, without the ``EVENT_TYPE_`` prefix, oldest first."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    return [EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in events]


async def named_events(client: Client, workflow_id: str) -> list[str]:
    """``event_types``, each activity and local activity followed by its name, e.g.
    ``MARKER_RECORDED(record_payment_transition)``: what a reader checks a shape against."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    names = []
    for event in events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        if event.HasField("activity_task_scheduled_event_attributes"):
            name += f"({event.activity_task_scheduled_event_attributes.activity_type.name})"
        elif event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            data = marker.details.get("data")
            local = json.loads(data.payloads[0].data) if data and data.payloads else {}
            name += f"({local.get('activity_type', marker.marker_name)})"
        names.append(name)
    return names


async def history_shape(client: Client, workflow_ids: Sequence[str]) -> Shape:
    """Events up to the point the caller got its answer. A Durapay payment is still open then
    (asleep in its refund window): its history ends with that timer."""
    shapes = []
    for workflow_id in workflow_ids[:SAMPLED_HISTORIES]:
        kinds = await event_types(client, workflow_id)
        shapes.append(
            (
                len(kinds),
                kinds.count("ACTIVITY_TASK_SCHEDULED"),
                kinds.count("MARKER_RECORDED"),
                kinds.count("WORKFLOW_TASK_COMPLETED"),
            )
        )
    return Shape(*(int(statistics.median(column)) for column in zip(*shapes, strict=True)))


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
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"- CPU: {cpu}, {psutil.cpu_count()} logical cores",
            f"- RAM: {psutil.virtual_memory().total / 1024**3:.1f} GiB",
            f"- OS: {platform.platform()}",
            f"- Python: {platform.python_version()}",
            f"- Temporal CLI: {temporal} (dev server, SQLite file with WAL)",
            f"- Load average (1, 5, 15 min) when printed: {load}",
        ]
    )


def run_from_command_line(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace, Path], Coroutine[Any, Any, Report]],
) -> None:
    """A benchmark's ``main``: its arguments, a data directory of its own for the run (deleted
    after), then the machine and the report on standard output."""
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
        result = asyncio.run(run(arguments, Path(data_dir)))
    print(machine())
    print(result.text)
