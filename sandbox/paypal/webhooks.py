"""Outgoing webhooks, signed the way PayPal signs them, and the endpoints around them.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` with SHA256withRSA
and names its certificate by URL in ``PAYPAL-CERT-URL``. The sandbox makes a root CA, an
intermediate and a signing certificate at start and serves the chain itself (the root at
``/_config/ca.pem``), so a receiver verifies sandbox deliveries, chain and dates included, with
the same code it uses for PayPal's.
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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.paypal.store import Resource, new_id, timestamp

log = logging.getLogger("sandbox.paypal.webhooks")

AUTH_ALGO = "SHA256withRSA"
CERT_PATH = "/v1/notifications/certs/CERT-sandbox"
CA_PATH = "/_config/ca.pem"
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


LEAF_NAME = "messageverificationcerts.sandbox.paypal.com"
"""The name on the signing certificate, as on PayPal's own sandbox."""


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    path_length: int | None,
) -> x509.Certificate:
    """A certificate as a public CA issues one: ``issuer`` None makes a root; ``path_length``
    None makes the leaf, with its DNS name and the extended key usages PayPal's carries."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_certificate, issuer_key = issuer or (None, key)
    now = datetime.now(UTC)
    is_ca = path_length is not None
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_certificate.subject if issuer_certificate else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class WebhookSender:
    """Signs and delivers events in PayPal's envelope, in the background.

    Deliveries run as tasks so an API answer never waits on the receiver, as with PayPal.
    """

    def __init__(self, public_url: str, url: str | None, webhook_id: str) -> None:
        self.url = url
        self.webhook_id = webhook_id
        self.cert_url = public_url.rstrip("/") + CERT_PATH
        self._public_url = public_url.rstrip("/")
        # A chain as PayPal's: a root (which receivers trust: ``/_config/ca.pem``), an
        # intermediate, and the signing certificate; the certificate URL serves the last two.
        root_key, intermediate_key, self._key = _new_key(), _new_key(), _new_key()
        root = _certificate("Durapay sandbox root CA", root_key, None, path_length=1)
        intermediate = _certificate(
            "Durapay sandbox intermediate CA", intermediate_key, (root, root_key), path_length=0
        )
        leaf = _certificate(
            LEAF_NAME, self._key, (intermediate, intermediate_key), path_length=None
        )
        self.root_pem = root.public_bytes(serialization.Encoding.PEM)
        self.certificate_pem = b"".join(
            cert.public_bytes(serialization.Encoding.PEM) for cert in (leaf, intermediate)
        )
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
