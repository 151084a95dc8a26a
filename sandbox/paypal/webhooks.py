"""Outgoing webhooks, signed the way PayPal signs them, and the endpoints around them.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` with SHA256withRSA
and names its certificate by URL in ``PAYPAL-CERT-URL``. The sandbox makes a key and a
self-signed certificate at start and serves the certificate itself, so a receiver verifies
sandbox deliveries with the same code it uses for PayPal's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from sandbox.paypal.store import Resource, new_id, timestamp

log = logging.getLogger("sandbox.paypal.webhooks")

AUTH_ALGO = "SHA256withRSA"
CERT_PATH = "/v1/notifications/certs/CERT-sandbox"
# PayPal retries failed deliveries for days; a few quick tries keep a slow test receiver working.
DELIVERY_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.5


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """The exact bytes PayPal's SHA256withRSA signature covers."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def serialize(event: Resource) -> bytes:
    """One serialization for sending and for re-checking in verify-webhook-signature."""
    return json.dumps(event, separators=(",", ":")).encode()


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Durapay PayPal sandbox webhooks")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


class WebhookSender:
    """Signs and delivers events in PayPal's envelope, in the background.

    Deliveries run as tasks so an API answer never waits on the receiver, as with PayPal.
    """

    def __init__(self, public_url: str, url: str | None, webhook_id: str) -> None:
        self.url = url
        self.webhook_id = webhook_id
        self.cert_url = public_url.rstrip("/") + CERT_PATH
        self._public_url = public_url.rstrip("/")
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate_pem = _self_signed(self._key).public_bytes(serialization.Encoding.PEM)
        self._tasks: set[asyncio.Task[None]] = set()

    def emit(self, event_type: str, resource_type: str, summary: str, resource: Resource) -> None:
        """Queue one event for the registered URL; nothing happens while none is registered."""
        if self.url is None:
            return
        event_id = "WH-" + new_id(17) + "-" + new_id(17)
        event: Resource = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": timestamp(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                {
                    "href": f"{self._public_url}/v1/notifications/webhooks-events/{event_id}",
                    "rel": "self",
                    "method": "GET",
                }
            ],
        }
        # Serialized now: the resource may change before the delivery task runs.
        body = serialize(event)
        task = asyncio.get_running_loop().create_task(self._deliver(self.url, event_id, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def headers(self, body: bytes) -> dict[str, str]:
        """PayPal's transmission headers for one delivery of ``body``."""
        transmission_id = str(uuid.uuid4())
        transmission_time = timestamp()
        signature = self._key.sign(
            signed_message(transmission_id, transmission_time, self.webhook_id, body),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        return {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
            "PAYPAL-CERT-URL": self.cert_url,
        }

    def verify(self, fields: dict[str, Any]) -> bool:
        """What ``verify-webhook-signature`` decides for a delivery this sandbox made."""
        event = fields.get("webhook_event")
        if (
            fields.get("auth_algo") != AUTH_ALGO
            or fields.get("cert_url") != self.cert_url
            or not isinstance(event, dict)
        ):
            return False
        message = signed_message(
            str(fields.get("transmission_id")),
            str(fields.get("transmission_time")),
            str(fields.get("webhook_id")),
            serialize(event),
        )
        try:
            signature = base64.b64decode(str(fields.get("transmission_sig")), validate=True)
            self._key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    async def drain(self, timeout: float = 5.0) -> None:
        """Let pending deliveries finish (bounded), then cancel the rest; used at shutdown."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    async def _deliver(self, url: str, event_id: str, body: bytes) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(1, DELIVERY_ATTEMPTS + 1):
                try:
                    response = await client.post(url, content=body, headers=self.headers(body))
                    if response.is_success:
                        return
                    log.warning("%s answered %s to %s", url, response.status_code, event_id)
                except httpx.HTTPError as error:
                    log.warning("delivery of %s to %s failed: %s", event_id, url, error)
                if attempt < DELIVERY_ATTEMPTS:
                    await asyncio.sleep(RETRY_DELAY_SECONDS * attempt)
