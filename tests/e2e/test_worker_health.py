"""The worker container's healthcheck (``python -m services.worker_health``) asks Temporal who
polls: it passes on a host whose worker polls the task queue and fails where none does."""

from __future__ import annotations

import subprocess
import sys

from services.worker_health import polls_from_this_host
from tests.support.processes import ROOT
from tests.support.stack import Stack


async def test_the_healthcheck_sees_this_hosts_worker_polling(stack: Stack) -> None:
    assert await polls_from_this_host(stack.settings)
    nobody = stack.settings.model_copy(update={"task_queue": "nobody-polls-this"})
    assert not await polls_from_this_host(nobody)


def test_the_healthcheck_command_fails_where_no_worker_polls(stack: Stack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.worker_health"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DURAPAY_ENVIRONMENT": "test",
            "DURAPAY_TEMPORAL_ADDRESS": stack.settings.temporal_address,
            "DURAPAY_TASK_QUEUE": "nobody-polls-this",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no worker on this host polls the task queue" in done.stderr
