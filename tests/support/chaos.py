"""Building blocks of the chaos suite: a worker process that can be killed and started again, the
API in process on a chosen task queue and Temporal server, and a merchant that keeps retrying
what Durapay told it to retry."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from tests.support.processes import ROOT
from tests.support.stack import Stack
from tests.support.worker_process import WORKER_START_TIMEOUT, worker_environment


def chaos_seed() -> int:
    """``DURAPAY_CHAOS_SEED`` replays a failed run's kills and amounts; otherwise a fresh seed,
    which every assertion message names."""
    configured = os.environ.get("DURAPAY_CHAOS_SEED")
    return int(configured) if configured else secrets.randbits(32)


def chaos_rng(seed: int) -> random.Random:
    """Reproducible choices of a chaos test; not for anything secret."""
    return random.Random(seed)


class WorkerProcess:
    """Durapay's worker as a child process on ``task_queue``, which a test can SIGKILL at any
    moment and start again; ``close`` (always called by ``running_worker``) leaves none behind.

    Workers are forked by ``tests.support.worker_zygote``, which imports the code once: a restart
    takes about a second instead of the many CPU seconds of a cold import.
    """

    def __init__(
        self,
        stack: Stack,
        client: Client,
        task_queue: str,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self.task_queue = task_queue
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.support.worker_zygote"],
            cwd=ROOT,
            env=worker_environment(
                stack,
                stack.stripe_url,
                task_queue,
                {
                    "DURAPAY_SMTP_PORT": str(stack.settings.smtp_port),
                    "DURAPAY_PAYPAL_API_BASE": stack.settings.paypal_api_base,
                    **(environment or {}),
                },
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._workers: list[int] = []

    @property
    def alive(self) -> bool:
        """Whether the latest worker is still running (children are reaped as they die)."""
        return bool(self._workers) and _alive(self._workers[-1])

    @property
    def starts(self) -> int:
        return len(self._workers)

    async def start(self) -> None:
        """Fork a worker and return once *it* polls: a dead worker's poller stays listed by
        Temporal for a while, so pollers are told apart by their identity (``pid@host``)."""
        assert not self.alive, "a worker is still running"
        assert self._zygote.stdin is not None and self._zygote.stdout is not None
        self._zygote.stdin.write(b"start\n")
        self._zygote.stdin.flush()
        line = await asyncio.to_thread(self._zygote.stdout.readline)
        if not line:
            raise RuntimeError(f"the worker zygote exited with {self._zygote.wait()}")
        pid = int(line)
        self._workers.append(pid)
        request = DescribeTaskQueueRequest(
            namespace=self._client.namespace,
            task_queue=TaskQueue(name=self.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        async with asyncio.timeout(WORKER_START_TIMEOUT):
            while True:
                if not _alive(pid):
                    raise RuntimeError(f"worker {pid} died at start")
                try:
                    described = await self._client.workflow_service.describe_task_queue(request)
                except RPCError:
                    # A busy dev server may cancel the call ("operation was canceled"): ask again.
                    await asyncio.sleep(0.1)
                    continue
                if any(p.identity.startswith(f"{pid}@") for p in described.pollers):
                    return
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL, the way an OOM kill or a lost host ends a worker: no cleanup runs."""
        pid = self._workers[-1]
        os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(10):
            while True:
                if not _alive(pid):
                    return
                await asyncio.sleep(0.02)

    def close(self) -> None:
        for pid in self._workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self._zygote.stdin is not None:
            self._zygote.stdin.close()
        try:
            self._zygote.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._zygote.kill()
            self._zygote.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@asynccontextmanager
async def running_worker(
    stack: Stack,
    client: Client,
    task_queue: str,
    environment: Mapping[str, str] | None = None,
) -> AsyncIterator[WorkerProcess]:
    worker = WorkerProcess(stack, client, task_queue, environment)
    try:
        await worker.start()
        yield worker
    finally:
        worker.close()


async def unfinished_after(
    tasks: Collection[asyncio.Task[Any]], seconds: float, at_least: int
) -> int:
    """How many of ``tasks`` are unfinished ``seconds`` from now, or sooner, the moment no more
    than ``at_least`` are. A crash timed by the clock alone comes after the batch whenever the
    batch is quicker than the drawn delay (plain payments settle within it, and on a quiet
    machine captures and refunds too) and then interrupts nothing; returning early keeps the
    crash random and inside the batch."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    unfinished = {task for task in tasks if not task.done()}
    while len(unfinished) > at_least and (left := deadline - loop.time()) > 0:
        _, unfinished = await asyncio.wait(
            unfinished, timeout=left, return_when=asyncio.FIRST_COMPLETED
        )
    return len(unfinished)


async def until_answered(
    send: Callable[[], Awaitable[httpx.Response]], deadline: float, context: str
) -> httpx.Response:
    """Repeat a request while the API answers 503 ``service_unavailable`` — its documented
    "retry" — as a merchant's back end does, with the same Idempotency-Key each time."""
    loop = asyncio.get_running_loop()
    while True:
        response = await send()
        if response.status_code != 503:
            return response
        problem = response.json()
        assert problem["code"] == "service_unavailable", f"{context}: {response.text}"
        assert loop.time() < deadline, f"{context}: still 503 at the deadline: {response.text}"
        await asyncio.sleep(0.5)


async def until_settled(
    api: httpx.AsyncClient, payment_id: str, deadline: float, context: str
) -> dict[str, Any]:
    """Poll ``GET /v1/payments/{id}`` until the payment leaves ``processing``."""
    loop = asyncio.get_running_loop()
    while True:
        response = await api.get(f"/v1/payments/{payment_id}")
        assert response.status_code == 200, f"{context}: {response.text}"
        payment: dict[str, Any] = response.json()
        if payment["status"] != "processing":
            return payment
        assert loop.time() < deadline, f"{context}: {payment_id} still processing at the deadline"
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class Order:
    """One payment a merchant asks for, and what it does next."""

    key: str
    customer_id: str
    method_id: str
    amount: int
    declined: bool
    capture: int | None
    """Manual capture of this much once authorized (``None``: automatic capture)."""
    refund: int | None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "amount": self.amount,
            "currency": "usd",
            "customer_id": self.customer_id,
            "payment_method_id": self.method_id,
        }
        if self.capture is not None:
            body["capture_method"] = "manual"
        return body

    def expected(self) -> tuple[str, int, int]:
        """(status, amount_captured, amount_refunded) the merchant should end up seeing."""
        if self.declined:
            return "failed", 0, 0
        captured = self.amount if self.capture is None else self.capture
        return "succeeded", captured, self.refund or 0


def orders(
    rng: random.Random,
    count: int,
    good: list[tuple[str, str]],
    declining: list[tuple[str, str]],
) -> list[Order]:
    """A mix: about 10 % declined cards, 30 % manual partial captures, 30 % partial refunds."""
    made = []
    for number in range(count):
        declined = rng.random() < 0.1
        customer_id, method_id = rng.choice(declining if declined else good)
        amount = rng.randint(500, 50_000)
        capture = (
            amount - rng.randint(0, amount // 2) if not declined and rng.random() < 0.3 else None
        )
        refund = None
        if not declined and rng.random() < 0.3:
            refund = rng.randint(1, capture or amount)
        made.append(
            Order(
                f"chaos-{uuid.uuid4().hex[:12]}-{number}",
                customer_id,
                method_id,
                amount,
                declined,
                capture,
                refund,
            )
        )
    return made


async def merchant(api: httpx.AsyncClient, order: Order, deadline: float, context: str) -> str:
    """Pay, capture and refund as the order says, retrying each step on 503 with its own key
    and waiting out ``202 processing``; returns the payment id."""
    where = f"{context}, {order}"
    created = await until_answered(
        lambda: api.post("/v1/payments", json=order.body(), headers={"Idempotency-Key": order.key}),
        deadline,
        where,
    )
    assert created.status_code in (200, 201, 202), f"{where}: {created.status_code} {created.text}"
    payment: dict[str, Any] = created.json()
    if payment["status"] == "processing":
        payment = await until_settled(api, payment["id"], deadline, where)
    payment_id: str = payment["id"]

    def follow_up(path: str, step: str, amount: int) -> Awaitable[httpx.Response]:
        """A capture or refund, answered despite faults, with a key of its own per order."""
        return until_answered(
            lambda: api.post(
                f"/v1/payments/{payment_id}/{path}",
                json={"amount": amount},
                headers={"Idempotency-Key": f"{order.key}:{step}"},
            ),
            deadline,
            where,
        )

    if order.capture is not None:
        assert payment["status"] == "requires_capture", f"{where}: {payment}"
        captured = await follow_up("capture", "capture", order.capture)
        assert captured.status_code == 200, f"{where}: capture {captured.text}"
    if order.refund is not None:
        refunded = await follow_up("refunds", "refund", order.refund)
        assert refunded.status_code in (200, 201), f"{where}: refund {refunded.text}"
        assert refunded.json()["status"] == "succeeded", f"{where}: refund {refunded.text}"
    return payment_id


async def assert_ended_as_asked(
    api: httpx.AsyncClient, payment_ids: Mapping[Order, str], context: str
) -> None:
    """Each payment shows the status and amounts its order asked for."""
    outcomes = {}
    for order, payment_id in payment_ids.items():
        shown = (await api.get(f"/v1/payments/{payment_id}")).json()
        outcomes[order] = (shown["status"], shown["amount_captured"], shown["amount_refunded"])
    wrong = {order: seen for order, seen in outcomes.items() if seen != order.expected()}
    assert not wrong, f"{context}: payments that did not end as asked: {wrong}"
