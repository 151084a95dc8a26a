"""PayPal webhook signatures as PayPal makes them: the sandbox's signer (``WebhookSender``: a root,
an intermediate, a signing certificate) with its chain and root served over HTTP, checked by the
API's verification against that root, as production checks PayPal's against the public roots.

Refused: a chain that leads to another root or is not valid at the moment of use, a transmission
time more than five minutes away, a transmission id reused for another event; each refusal is
counted and raises one ``invalid_webhook_signature`` alert per provider and window. The cache of
chains stays bounded however many certificate URLs are sent."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from sandbox.paypal import webhooks
from sandbox.paypal.webhooks import CA_PATH, CERT_PATH, WebhookSender
from services.paypal_signature import CACHE_SIZE, UnverifiableWebhook, certificate_cache, verify
from settings import DEV_ADMIN_KEY, DEV_PAYPAL_WEBHOOK_ID, Environment, Settings
from tests.support.edge_api import bearer, running_edge
from tests.support.net import free_port
from tests.support.webhooks import stripe_signature

FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture
def paypal() -> Iterator[WebhookSender]:
    """A signer whose chain is served at its ``cert_url`` (and any path under the certificates'
    folder) and whose root at ``CA_PATH``, as the sandbox serves them."""
    port = free_port()
    signer = WebhookSender(f"http://127.0.0.1:{port}", None, DEV_PAYPAL_WEBHOOK_ID)
    stranger = WebhookSender(f"http://127.0.0.1:{port}", None, DEV_PAYPAL_WEBHOOK_ID)

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pem = {
                CA_PATH: signer.root_pem,
                "/other-root/cert": stranger.certificate_pem,
            }.get(self.path)
            if pem is None and self.path.startswith(CERT_PATH.rsplit("/", 1)[0]):
                pem = signer.certificate_pem
            self.send_response(200 if pem else 404)
            self.end_headers()
            self.wfile.write(pem or b"")

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield signer
    finally:
        server.shutdown()
        server.server_close()


def settings_for(signer: WebhookSender, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "environment": Environment.TEST,
            "data_dir": tmp_path,
            "paypal_api_base": signer.cert_url.split("/v1/")[0],
        }
    )


def event(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "event_type": "CHECKOUT.ORDER.APPROVED"}).encode()


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


async def test_a_genuine_delivery_verifies_and_a_stale_one_does_not(
    paypal: WebhookSender, tmp_path: Path
) -> None:
    certificates = certificate_cache(settings_for(paypal, tmp_path))
    body = event("WH-1")
    headers = lower(paypal.headers(body))
    await verify(headers, body, DEV_PAYPAL_WEBHOOK_ID, certificates, max_age=FIVE_MINUTES)

    later = datetime.now(UTC) + timedelta(minutes=6)
    with pytest.raises(UnverifiableWebhook, match="transmission time"):
        await verify(
            headers, body, DEV_PAYPAL_WEBHOOK_ID, certificates, max_age=FIVE_MINUTES, now=later
        )
    with pytest.raises(UnverifiableWebhook, match="signature does not match"):
        await verify(
            headers, event("WH-2"), DEV_PAYPAL_WEBHOOK_ID, certificates, max_age=FIVE_MINUTES
        )


async def test_the_chain_must_lead_to_the_trusted_root_and_be_valid_now(
    paypal: WebhookSender, tmp_path: Path
) -> None:
    certificates = certificate_cache(settings_for(paypal, tmp_path))
    now = datetime.now(UTC)
    await certificates.verified_key(paypal.cert_url, now)

    with pytest.raises(UnverifiableWebhook, match="not valid"):
        await certificates.verified_key(paypal.cert_url, now + timedelta(days=400))
    with pytest.raises(UnverifiableWebhook, match="not valid"):
        await certificates.verified_key(paypal.cert_url, now - timedelta(days=2))
    other_root = paypal.cert_url.split("/v1/")[0] + "/other-root/cert"
    with pytest.raises(UnverifiableWebhook, match="not valid"):
        await certificates.verified_key(other_root, now)
    with pytest.raises(UnverifiableWebhook, match="allow-list"):
        await certificates.verified_key("https://evil.example/cert.pem", now)


async def test_the_certificate_cache_is_bounded(paypal: WebhookSender, tmp_path: Path) -> None:
    certificates = certificate_cache(settings_for(paypal, tmp_path))
    folder = paypal.cert_url.rsplit("/", 1)[0]
    for index in range(CACHE_SIZE * 3):
        await certificates.verified_key(f"{folder}/CERT-{index}", datetime.now(UTC))
    assert len(certificates) == CACHE_SIZE


async def test_invalid_signatures_are_counted_and_alerted_once_per_window(
    paypal: WebhookSender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transmission id is bound to its first event: the same signed transmission again is
    a redelivery (200), another event under it is refused even with a valid signature."""
    overrides = {"paypal_api_base": paypal.cert_url.split("/v1/")[0]}
    async with running_edge(tmp_path, **overrides) as edge:
        first, other = event(f"WH-{uuid.uuid4().hex}"), event(f"WH-{uuid.uuid4().hex}")
        transmission = uuid.uuid4()
        monkeypatch.setattr(webhooks, "uuid", SimpleNamespace(uuid4=lambda: transmission))
        first_headers = paypal.headers(first)
        delivered = await edge.api.post("/v1/webhooks/paypal", content=first, headers=first_headers)
        again = await edge.api.post("/v1/webhooks/paypal", content=first, headers=first_headers)
        replayed = await edge.api.post(
            "/v1/webhooks/paypal", content=other, headers=paypal.headers(other)
        )
        assert (delivered.status_code, again.status_code) == (200, 200), delivered.text
        assert replayed.status_code == 400
        assert "already used" in replayed.json()["detail"]

        forged = await edge.api.post(
            "/v1/webhooks/stripe",
            content=b"{}",
            headers={"Stripe-Signature": stripe_signature(b"{}", "whsec_not_ours")},
        )
        unsigned = await edge.api.post("/v1/webhooks/stripe", content=b"{}")
        assert forged.status_code == unsigned.status_code == 400

        metrics = (await edge.api.get("/metrics")).text
        assert 'durapay_webhook_invalid_signatures_total{provider="paypal"} 1.0' in metrics
        assert 'durapay_webhook_invalid_signatures_total{provider="stripe"} 2.0' in metrics
        alerts = await edge.api.get(
            "/v1/admin/alerts",
            params={"kind": "invalid_webhook_signature"},
            headers=bearer(DEV_ADMIN_KEY),
        )
        assert sorted(a["detail"].split()[0] for a in alerts.json()["data"]) == [
            "paypal",
            "stripe",
        ], "one alert per provider and window, however many refusals"
