"""Production refuses to start on a database that still accepts the development keys."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.main import create_app
from db.migrate import upgrade_to_head
from services.api_keys import DevKeysInProduction
from settings import Environment
from tests.support.stack import Stack


async def test_production_refuses_a_database_that_still_accepts_dev_keys(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}"
    await upgrade_to_head(url)
    dev = stack.settings.model_copy(update={"database_url": url})
    production = dev.model_copy(update={"environment": Environment.PRODUCTION})
    dev_app = create_app(dev, client=stack.client)
    async with dev_app.router.lifespan_context(dev_app):
        transport = httpx.ASGITransport(app=dev_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dev") as client:
            response = await client.get(
                "/v1/payments", headers={"Authorization": "Bearer sk_dev_client"}
            )
            assert response.status_code == 200

    prod_app = create_app(production, client=stack.client)
    with pytest.raises(DevKeysInProduction):
        async with prod_app.router.lifespan_context(prod_app):
            pass
