"""``python -m sandbox.paypal`` as ``make dev`` runs it: flags reach the running sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[3]


def test_module_serves_with_given_credentials_and_webhook_settings() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "sandbox.paypal", "--host", "127.0.0.1", "--port", str(port),
            "--client-id", "cli-id", "--client-secret", "cli-secret",
            "--webhook-url", "http://127.0.0.1:9/hooks", "--webhook-id", "WH-CLI",
        ],
        cwd=REPO,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=20)
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/v1/oauth2/token",
            auth=("cli-id", "cli-secret"),
            data={"grant_type": "client_credentials"},
        )
        assert token.status_code == 200
        assert token.json()["token_type"] == "Bearer"
        certificate = httpx.get(f"{base}/v1/notifications/certs/CERT-sandbox")
        assert certificate.text.startswith("-----BEGIN CERTIFICATE-----")
    finally:
        process.terminate()
        process.wait(timeout=10)
