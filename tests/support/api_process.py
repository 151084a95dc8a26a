"""The API alone as a process of its own (``python -m tests.support.api_process``), configured by
its ``DURAPAY_*`` environment and served by uvicorn on ``DURAPAY_API_PORT``, with a lazy
Temporal client that never connects: for tests of what several API processes share (a Redis rate
limit budget) or of one process's memory, on routes that never reach Temporal."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx
import uvicorn
from temporalio.client import Client

from api.main import create_app
from settings import Settings
from tests.support.processes import running_process


async def _serve() -> None:
    settings = Settings()
    client = await Client.connect("127.0.0.1:1", lazy=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, client=client),
            host="127.0.0.1",
            port=settings.api_port,
            log_level="warning",
            access_log=False,
        )
    )
    await server.serve()


@contextmanager
def running_api_process(port: int, environment: Mapping[str, str]) -> Iterator[int]:
    """The API on ``port`` until the block ends; yields its process id (to read its memory)."""
    env = {
        **os.environ,
        "DURAPAY_ENVIRONMENT": "test",
        "DURAPAY_LOG_LEVEL": "WARNING",
        "DURAPAY_API_PORT": str(port),
        **environment,
    }

    def probe() -> None:
        httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).raise_for_status()

    with running_process(
        f"API on {port}",
        [sys.executable, "-m", "tests.support.api_process"],
        probe,
        env=env,
    ) as process:
        yield process.pid


if __name__ == "__main__":
    asyncio.run(_serve())
