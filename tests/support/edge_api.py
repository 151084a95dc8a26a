"""The API app in process on a migrated SQLite file of its own, with a lazy Temporal client that
never connects: for tests of the routes that never reach Temporal (keys, customers, admin
figures, the audit log) and of the edge every request passes (``api.gate``, ``api.audit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client

from api.main import create_app
from db.migrate import upgrade_to_head
from services import api_keys
from services.database import connect
from settings import Environment, Settings


@dataclass(frozen=True)
class Edge:
    settings: Settings
    api: httpx.AsyncClient
    """No key of its own: each test sends the one it means."""

    @property
    def database_file(self) -> Path:
        return Path(self.settings.database_url.removeprefix("sqlite+aiosqlite:///"))

    async def issue(self, account_id: str, role: api_keys.Role = "admin") -> str:
        async with connect(self.settings.database_url) as database:
            issued = await api_keys.create_key(
                database, account_id, "test", role, hashing_key=self.settings.api_key_secret
            )
        return issued.secret


@asynccontextmanager
async def running_edge(tmp_path: Path, **overrides: object) -> AsyncIterator[Edge]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    settings = Settings.model_validate(
        {"environment": Environment.TEST, "database_url": url, "data_dir": tmp_path, **overrides}
    )
    app = create_app(settings, client=await Client.connect("127.0.0.1:1", lazy=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://durapay.in-process"
        ) as api,
    ):
        yield Edge(settings, api)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
