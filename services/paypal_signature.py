"""Offline verification of PayPal webhook signatures.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` with SHA256withRSA
and names the certificate by URL in ``PAYPAL-CERT-URL``. The URL comes from the (untrusted)
request, so it is fetched only from allow-listed hosts, and cached: one fetch per certificate.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Mapping

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REQUIRED_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)


class UnverifiableWebhook(Exception):
    """The delivery cannot be shown to come from PayPal."""


class CertificateCache:
    def __init__(self, allowed: Callable[[str], bool]) -> None:
        self._allowed = allowed
        self._certificates: dict[str, x509.Certificate] = {}

    async def get(self, url: str) -> x509.Certificate:
        if not self._allowed(url):
            raise UnverifiableWebhook("certificate URL is not on the allow-list")
        cached = self._certificates.get(url)
        if cached is not None:
            return cached
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(url)
                response.raise_for_status()
            certificate = x509.load_pem_x509_certificate(response.content)
        except (httpx.HTTPError, ValueError) as error:
            raise UnverifiableWebhook("certificate could not be fetched") from error
        self._certificates[url] = certificate
        return certificate


async def verify(
    headers: Mapping[str, str], body: bytes, webhook_id: str, certificates: CertificateCache
) -> None:
    """Raise ``UnverifiableWebhook`` unless PayPal signed exactly this body for our webhook."""
    values = {name: headers.get(name) for name in REQUIRED_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise UnverifiableWebhook("missing headers: " + ", ".join(missing))
    if values["paypal-auth-algo"] != "SHA256withRSA":
        raise UnverifiableWebhook("unsupported signature algorithm")
    certificate = await certificates.get(str(values["paypal-cert-url"]))
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnverifiableWebhook("certificate does not hold an RSA key")
    message = (
        f"{values['paypal-transmission-id']}|{values['paypal-transmission-time']}|"
        f"{webhook_id}|{zlib.crc32(body)}"
    ).encode()
    try:
        signature = base64.b64decode(str(values["paypal-transmission-sig"]), validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as error:
        raise UnverifiableWebhook("signature does not match") from error
