"""Durapay's worker as a separate process, so a test can SIGKILL it mid-activity the way a crashed
host or an OOM kill would, and start a fresh one that knows only what Temporal recorded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from tests.support.processes import ROOT
from tests.support.stack import Stack

WORKER_START_TIMEOUT = 60.0
"""A cold ``python -m worker`` imports for several seconds on two busy cores, and for over 30 s
(5 s of CPU) when other test runs load them too."""


def start_worker(
    stack: Stack,
    stripe_url: str,
    task_queue: str,
    environment: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m worker`` on the session's Temporal server and database, polling its own task
    queue (so the session's in-process worker never picks up its tasks) and reaching Stripe at
    ``stripe_url`` (usually a fault proxy). ``environment`` adds or overrides ``DURAPAY_``
    settings, e.g. another Temporal address."""
    return subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=worker_environment(stack, stripe_url, task_queue, environment),
    )


def worker_environment(
    stack: Stack,
    stripe_url: str,
    task_queue: str,
    environment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment ``start_worker`` gives the worker process."""
    return {
        **os.environ,
        "DURAPAY_ENVIRONMENT": "test",
        "DURAPAY_DATABASE_URL": stack.settings.database_url,
        "DURAPAY_TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "DURAPAY_TASK_QUEUE": task_queue,
        "DURAPAY_STRIPE_API_BASE": stripe_url,
        "DURAPAY_LOG_LEVEL": "WARNING",
        **(environment or {}),
    }


async def wait_until_polled(
    client: Client, task_queue: str, timeout: float = WORKER_START_TIMEOUT
) -> None:
    """Return once a worker polls ``task_queue`` for workflow tasks: a test whose clock starts
    with the workflow must not spend it waiting for the worker process to import and connect."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    async with asyncio.timeout(timeout):
        while True:
            described = await client.workflow_service.describe_task_queue(request)
            if described.pollers:
                return
            await asyncio.sleep(0.1)
