"""How long one client waits for ``POST /v1/payments`` on the real dev stack, one payment at a time.

    uv run python -m bench.latency                  # 20 warm-up payments, then 200 measured
    uv run python -m bench.latency --payments 20 --warmup 5

The stack is ``make dev``'s, on free 127.0.0.1 ports and a data dir of its own: the Temporal dev
server as ``sandbox.devstack`` starts it (file-backed, WAL, Durapay's search attributes),
localstripe, Durapay's own ``python -m worker`` process, a migrated SQLite database and the API
served by uvicorn over TCP (``python -m uvicorn api.main:create_app --factory``, as ``make dev``
runs it). The client is httpx over that socket with the dev client key; each payment is a saved
4242 card with automatic capture and must answer 201 ``succeeded`` (anything else is counted as a
failure). ``bench.payments`` measures throughput under load; this measures what a single caller
sees on an idle stack, against the targets of issue 19 (``TARGETS``).

It prints p50/p95/p99 in milliseconds, the median history event count of the measured payments
(each still open in its refund window when it answered, so its history ends there) and the event
types of one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client

from bench.harness import (
    Report,
    durapay_environment,
    event_types,
    named_events,
    run_from_command_line,
    running_temporal,
    worker_process,
)
from bench.payments import api_payments, customers_for
from db.migrate import upgrade_to_head
from sandbox.devstack import api_argv
from services.temporal_connection import connect_temporal
from settings import DEV_CLIENT_KEY, Environment, Settings
from tests.support.localstripe import create_card_payment_method, running_localstripe
from tests.support.net import free_port
from tests.support.processes import running_process

TARGETS = {50: 100.0, 95: 200.0}
"""Issue 19's targets in milliseconds, by percentile."""
TARGET_EVENTS = 16
"""Issue 19's target for the history events of an automatic card payment when it answers."""
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Latency:
    latencies: list[float]
    failures: int
    median_events: float
    events_of_one: list[str]

    def percentile(self, p: int) -> float:
        """Latency at percentile ``p`` in milliseconds (inclusive: never beyond the slowest)."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


@asynccontextmanager
async def api_over_tcp(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """uvicorn serving the API app as ``make dev`` starts it, and an httpx client for it that
    sends the dev client key."""
    base_url = f"http://{settings.api_host}:{settings.api_port}"
    env = {
        **durapay_environment(settings),
        "DURAPAY_API_HOST": settings.api_host,
        "DURAPAY_API_PORT": str(settings.api_port),
        # Long enough that every payment answers 201 with its outcome.
        "DURAPAY_PAYMENT_SETTLE_WAIT": "PT120S",
    }
    argv = api_argv()

    def probe() -> None:
        httpx.get(f"{base_url}/health", timeout=2).raise_for_status()

    with running_process("api", argv, probe, env=env):
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
            timeout=REQUEST_TIMEOUT,
        ) as api:
            yield api


async def measure(settings: Settings, client: Client, payments: int, warmup: int) -> Latency:
    """The unmeasured warm-up payments, then ``payments`` one after the other."""
    async with (
        worker_process(["-m", "worker"], settings, client, settings.data_dir / "worker.log"),
        api_over_tcp(settings) as api,
    ):

        async def card_token() -> str:
            return await asyncio.to_thread(
                create_card_payment_method, settings.stripe_api_base, "4242424242424242"
            )

        pay = await api_payments(api, card_token, customers_for(warmup + payments))
        for _ in range(warmup):
            await pay(0)
        latencies: list[float] = []
        ids: list[str] = []
        failures = 0
        for _ in range(payments):
            started = time.perf_counter()
            ok, payment_id = await pay(0)
            latencies.append(time.perf_counter() - started)
            ids.append(payment_id)
            failures += not ok
    histories = [await event_types(client, payment_id) for payment_id in ids]
    return Latency(
        latencies=latencies,
        failures=failures,
        median_events=statistics.median(len(events) for events in histories),
        events_of_one=await named_events(client, ids[-1]),
    )


async def run(arguments: argparse.Namespace, data_dir: Path) -> Report:
    """Start the stack, measure, stop it; returns the report (markdown)."""
    with running_localstripe() as stripe_url:
        settings = Settings.model_validate(
            {
                "environment": Environment.TEST,
                "data_dir": data_dir,
                "database_url": f"sqlite+aiosqlite:///{data_dir / 'durapay.db'}",
                "temporal_address": f"127.0.0.1:{free_port()}",
                "temporal_ui_port": free_port(),
                "api_port": free_port(),
                "task_queue": f"bench-latency-{uuid.uuid4().hex[:8]}",
                "stripe_api_base": stripe_url,
            }
        )
        await upgrade_to_head(settings.database_url)
        with running_temporal(settings):
            client = await connect_temporal(settings)
            result = await measure(settings, client, arguments.payments, arguments.warmup)
    return report(result, arguments.warmup)


def report(result: Latency, warmup: int) -> Report:
    def verdict(p: int) -> str:
        target = TARGETS.get(p)
        if target is None:
            return ""
        return f"{target:.0f} ({'met' if result.percentile(p) <= target else 'missed'})"

    events_verdict = "met" if result.median_events <= TARGET_EVENTS else "missed"
    percentiles = "/".join(f"{result.percentile(p):.0f}" for p in (50, 95, 99))
    summary = [
        f"Single-client latency p50/p95/p99: {percentiles} ms (targets: p50 {TARGETS[50]:.0f},"
        f" p95 {TARGETS[95]:.0f}); {result.failures} failed",
        f"History events per payment: {result.median_events:.0f} (target {TARGET_EVENTS})",
    ]
    text = "\n".join(
        [
            f"{len(result.latencies)} sequential payments after {warmup} warm-up ones,"
            f" {result.failures} failed (not 201 `succeeded`).",
            "",
            "| percentile | ms | target ms |",
            "|---|---:|---|",
            *(f"| p{p} | {result.percentile(p):.0f} | {verdict(p)} |" for p in (50, 95, 99)),
            "",
            f"History events per payment when it answered: {result.median_events:.0f} (median;"
            f" target {TARGET_EVENTS}, {events_verdict}). One payment's events:",
            "",
            *(f"{index}. {name}" for index, name in enumerate(result.events_of_one, 1)),
        ]
    )
    return Report(text, summary)


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--payments", type=int, default=200, help="measured (default 200)")
    parse.add_argument("--warmup", type=int, default=20, help="unmeasured payments first")
    return parse


def main() -> None:
    run_from_command_line(parser(), run)


if __name__ == "__main__":
    main()
