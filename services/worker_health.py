"""The worker container's healthcheck: ``python -m services.worker_health`` exits 0 when a worker
on this host polls Durapay's task queue, 1 otherwise.

A live process proves little: a worker that lost Temporal, or whose poller died, runs on and
takes no work. Temporal itself knows who polls: it lists each poller of a task queue with the
identity the SDK gives it (``<pid>@<hostname>``) for some minutes after its last poll. A
container has its own hostname, so each replica answers for itself.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from services.temporal_connection import connect_temporal, leave_process
from settings import Settings, get_settings


async def polls_from_this_host(settings: Settings) -> bool:
    """Whether Temporal lists a workflow poller of ``settings.task_queue`` from this host."""
    client = await connect_temporal(settings)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    suffix = f"@{socket.gethostname()}"
    return any(poller.identity.endswith(suffix) for poller in response.pollers)


if __name__ == "__main__":
    healthy = asyncio.run(polls_from_this_host(get_settings()))
    if not healthy:
        sys.stderr.write("no worker on this host polls the task queue\n")
    leave_process(0 if healthy else 1)
