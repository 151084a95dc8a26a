"""In production a webhook endpoint must be https on a public address: anything else is refused
at registration (and, should DNS change later, at every delivery: ``public_address``)."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.main import create_app
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from services.api_keys import create_key
from services.database import Database
from settings import Environment
from tests.support.stack import Stack

REFUSED = (
    "http://93.184.216.34/hooks",
    "https://127.0.0.1/hooks",
    "https://10.1.2.3/hooks",
    "https://169.254.169.254/latest",
    "https://[::1]/hooks",
)


async def test_production_registers_only_https_urls_on_public_addresses(
    stack: Stack, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}"
    await upgrade_to_head(database_url)
    engine = create_engine(database_url)
    issued = await create_key(
        Database(create_session_factory(engine)),
        "acct_prod",
        "shop",
        "client",
        hashing_key=stack.settings.api_key_secret,
    )
    await engine.dispose()
    production = stack.settings.model_copy(
        update={"database_url": database_url, "environment": Environment.PRODUCTION}
    )
    app = create_app(production, client=stack.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://durapay.example",
            headers={"Authorization": f"Bearer {issued.secret}"},
        ) as client,
    ):
        refused = [
            await client.post("/v1/webhook-endpoints", json={"url": url, "events": ["*"]})
            for url in REFUSED
        ]
        accepted = await client.post(
            "/v1/webhook-endpoints",
            json={"url": "https://93.184.216.34/hooks", "events": ["*"]},
        )
    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (422, "validation_error")
    ] * len(REFUSED)
    assert accepted.status_code == 201, accepted.text
