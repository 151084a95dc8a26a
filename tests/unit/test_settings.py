"""Production refuses to start with anything a developer could have left behind."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settings import Environment, Settings


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
