"""The API app called in process (``httpx.ASGITransport``: no socket, no uvicorn) with the dev
client key: for tests and benchmarks that need an API on settings of their own (another task
queue, database or settle wait) next to the session's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from temporalio.client import Client

from api.main import create_app
from settings import DEV_CLIENT_KEY, Settings


@asynccontextmanager
async def in_process_api(
    settings: Settings, client: Client | None = None, timeout: float = 60
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on ``settings``, its lifespan run; without ``client`` the app connects to
    Temporal itself, as in production."""
    app = create_app(settings, client=client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://durapay.in-process",
            headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
            timeout=timeout,
        ) as api,
    ):
        yield api
