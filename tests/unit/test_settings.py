"""Production refuses to start with anything a developer could have left behind, and is what a
deployment gets when it names no environment at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.temporal_connection import tls_config
from settings import Environment, Settings
from tests.support.production import REAL, production


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(
        ValidationError, match="DURAPAY_PAYPAL_CLIENT_SECRET, DURAPAY_STRIPE_API_KEY"
    ):
        Settings(environment=Environment.PRODUCTION)
    production()


def test_an_environment_nobody_named_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DURAPAY_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ValidationError, match="refusing to start in production with dev secrets"):
        Settings()
    for name, value in REAL.items():
        monkeypatch.setenv(
            f"DURAPAY_{name.upper()}", json.dumps(value) if isinstance(value, dict) else str(value)
        )
    assert Settings().environment is Environment.PRODUCTION
    assert not Settings().dev_keys_enabled


def test_the_refusal_names_every_setting_to_change_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment=Environment.PRODUCTION)
    message = str(refused.value)
    for name in (
        "DURAPAY_STRIPE_API_KEY",
        "DURAPAY_STRIPE_WEBHOOK_SECRET",
        "DURAPAY_PAYPAL_CLIENT_SECRET",
        "DURAPAY_PAYPAL_CLIENT_ID",
        "DURAPAY_PAYPAL_WEBHOOK_ID",
        "DURAPAY_STRIPE_API_BASE=http://127.0.0.1:8420",
        "DURAPAY_PAYPAL_API_BASE=http://127.0.0.1:8421",
        "DURAPAY_UPDATE_PAYMENT_METHOD_URL=http://127.0.0.1:8000/",
        "DURAPAY_ENVIRONMENT=dev",
    ):
        assert name in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8420",
        "http://127.1.2.3",
        "http://localhost:8420",
        "http://LOCALHOST",
        "http://stripe.localhost",
        "http://[::1]:8420",
        "http://0.0.0.0:8420",
    ],
)
@pytest.mark.parametrize("setting", ["stripe_api_base", "paypal_api_base"])
def test_production_refuses_a_provider_on_this_machine(setting: str, url: str) -> None:
    with pytest.raises(ValidationError, match=f"loopback addresses.*DURAPAY_{setting.upper()}"):
        production(**{setting: url})
    assert Settings.model_validate({"environment": Environment.DEV, setting: url})


@pytest.mark.parametrize(
    ("setting", "sandbox_value"),
    [("paypal_client_id", "sandbox-client-id"), ("paypal_webhook_id", "WH-DURAPAY-DEV")],
)
def test_production_refuses_sandbox_credentials(setting: str, sandbox_value: str) -> None:
    with pytest.raises(ValidationError, match=f"sandbox credentials: DURAPAY_{setting.upper()}"):
        production(**{setting: sandbox_value})


def test_an_smtp_password_travels_only_encrypted_in_production() -> None:
    login = {"smtp_username": "durapay", "smtp_password": "relay-password"}
    with pytest.raises(ValidationError, match="DURAPAY_SMTP_TLS=opportunistic"):
        production(**login)
    assert production(**login, smtp_tls="starttls").smtp_tls == "starttls"
    assert production(**login, smtp_tls="implicit").smtp_tls == "implicit"
    assert production().smtp_tls == "opportunistic", "no login, nothing to expose"


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="DURAPAY_TEMPORAL_TLS_CLIENT_KEY"):
        Settings(environment=Environment.DEV, temporal_tls_client_cert=tmp_path / "client.pem")


def test_temporal_is_reached_in_plain_text_only_when_nothing_asks_for_tls(
    tmp_path: Path,
) -> None:
    assert tls_config(Settings(environment=Environment.DEV)) is False
    with_key = tls_config(Settings(environment=Environment.DEV, temporal_api_key="tk"))
    assert with_key is not False, "an API key never travels in plain text"
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"cert")
    key.write_bytes(b"key")
    mtls = tls_config(
        Settings(
            environment=Environment.DEV,
            temporal_tls_ca_cert=ca,
            temporal_tls_client_cert=cert,
            temporal_tls_client_key=key,
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert mtls is not False and mtls is not True
    assert mtls.server_root_ca_cert == ca.read_bytes()
    assert (mtls.client_cert, mtls.client_private_key) == (b"cert", b"key")
    assert mtls.domain == "temporal.internal"


def test_paypal_certificates_come_only_from_allowed_hosts() -> None:
    prod = production()
    assert prod.paypal_certificate_allowed("https://api.paypal.com/v1/notifications/certs/X")
    assert not prod.paypal_certificate_allowed("http://api.paypal.com/certs/X")
    assert not prod.paypal_certificate_allowed("https://paypal.com.evil.example/certs/X")
    dev = Settings(environment=Environment.DEV)
    assert dev.paypal_certificate_allowed("http://127.0.0.1:8421/v1/notifications/certs/X")
    assert not dev.paypal_certificate_allowed("http://127.0.0.1:9999/certs/X")
