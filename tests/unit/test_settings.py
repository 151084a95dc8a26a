"""Production refuses to start with anything a developer could have left behind."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.main import create_app
from db.migrate import upgrade_to_head
from services.api_keys import DevKeysInProduction
from settings import Environment, Settings
from tests.conftest import Stack


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(
        ValidationError, match="DURAPAY_PAYPAL_CLIENT_SECRET, DURAPAY_STRIPE_API_KEY"
    ):
        Settings(environment=Environment.PRODUCTION)
    Settings(
        environment=Environment.PRODUCTION,
        stripe_api_key="sk_live_real",
        stripe_webhook_secret="whsec_real",
        paypal_client_secret="real-paypal-secret",
    )


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


def test_paypal_certificates_come_only_from_allowed_hosts() -> None:
    production = Settings(
        environment=Environment.PRODUCTION,
        stripe_api_key="sk_live_real",
        stripe_webhook_secret="whsec_real",
        paypal_client_secret="real-paypal-secret",
    )
    assert production.paypal_certificate_allowed("https://api.paypal.com/v1/notifications/certs/X")
    assert not production.paypal_certificate_allowed("http://api.paypal.com/certs/X")
    assert not production.paypal_certificate_allowed("https://paypal.com.evil.example/certs/X")
    dev = Settings()
    assert dev.paypal_certificate_allowed("http://127.0.0.1:8421/v1/notifications/certs/X")
    assert not dev.paypal_certificate_allowed("http://127.0.0.1:9999/certs/X")
