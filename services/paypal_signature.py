"""Offline verification of PayPal webhook signatures.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` with SHA256withRSA
and names the certificate by URL in ``PAYPAL-CERT-URL``. The URL comes from the (untrusted)
request, so it is fetched only from allow-listed hosts, and the chain it serves must lead to a
trusted root, be valid now, and name PayPal's message-verification host (``cryptography``'s
X.509 path validation, as a TLS client checks a server). A transmission time more than
``max_age`` away from now is refused, so a delivery captured long ago never verifies again.

The signature covers only a CRC32 of the body, which anyone can match with another body: a
verified PayPal event is a hint (the payment's workflow re-reads the order from PayPal), and each
transmission id is bound to the one event it first carried (``services.provider_webhooks``).

Fetched chains are kept in a bounded LRU cache (one fetch per certificate URL while it stays in
the cache, never more than ``CACHE_SIZE`` chains in memory, however many URLs are sent).
"""

from __future__ import annotations

import base64
import binascii
import warnings
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
from cachetools import LRUCache
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from settings import Environment, Settings

REQUIRED_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
CACHE_SIZE = 32
MAX_CHAIN_BYTES = 64 * 1024
"""A certificate chain is a few KiB; a URL answering more is not serving one."""
LIVE_NAME = "messageverificationcerts.paypal.com"
SANDBOX_NAME = "messageverificationcerts.sandbox.paypal.com"
LIVE_API_HOSTS = frozenset({"api-m.paypal.com", "api.paypal.com"})
SANDBOX_CA_PATH = "/_config/ca.pem"
"""Where Durapay's own sandbox serves the root its signing certificates chain to."""


class UnverifiableWebhook(Exception):
    """The delivery cannot be shown to come from PayPal."""


@dataclass(frozen=True)
class Chain:
    leaf: x509.Certificate
    intermediates: list[x509.Certificate]


Roots = Callable[[], Awaitable[list[x509.Certificate]]]


class CertificateCache:
    """Certificate chains by URL, fetched from allow-listed hosts only, validated on every use
    (a cached certificate can expire) against ``roots`` for ``name``."""

    def __init__(self, allowed: Callable[[str], bool], roots: Roots, name: str) -> None:
        self._allowed = allowed
        self._roots = roots
        self._trusted: Store | None = None
        self.name = name
        self._chains: LRUCache[str, Chain] = LRUCache(maxsize=CACHE_SIZE)

    async def verified_key(self, url: str, at: datetime) -> rsa.RSAPublicKey:
        """The signing key of the chain at ``url``, once the chain is shown valid at ``at``."""
        chain = await self._chain(url)
        if self._trusted is None:
            self._trusted = Store(await self._roots())
        verifier = (
            PolicyBuilder()
            .store(self._trusted)
            .time(at)
            .build_server_verifier(x509.DNSName(self.name))
        )
        try:
            verifier.verify(chain.leaf, chain.intermediates)
        except VerificationError as error:
            raise UnverifiableWebhook(f"certificate chain is not valid: {error}") from None
        key = chain.leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise UnverifiableWebhook("certificate does not hold an RSA key")
        return key

    async def _chain(self, url: str) -> Chain:
        if not self._allowed(url):
            raise UnverifiableWebhook("certificate URL is not on the allow-list")
        cached = self._chains.get(url)
        if cached is not None:
            return cached
        try:
            certificates = x509.load_pem_x509_certificates(await _fetch(url))
        except (httpx.HTTPError, ValueError) as error:
            raise UnverifiableWebhook("certificate could not be fetched") from error
        chain = Chain(leaf=certificates[0], intermediates=certificates[1:])
        self._chains[url] = chain
        return chain

    def __len__(self) -> int:
        return len(self._chains)


async def _fetch(url: str) -> bytes:
    """The body at ``url``, refused past ``MAX_CHAIN_BYTES`` while it is read."""
    received = b""
    async with httpx.AsyncClient(timeout=5) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) > MAX_CHAIN_BYTES:
                raise ValueError("certificate chain too large")
    return received


def certificate_cache(settings: Settings) -> CertificateCache:
    """The roots and name the settings call for: ``DURAPAY_PAYPAL_CA_CERT`` when set; else the
    public roots (certifi's) in production, where PayPal's certificates chain to a public CA,
    and the root of Durapay's own sandbox elsewhere."""
    host = urlsplit(settings.paypal_api_base).hostname or ""
    name = LIVE_NAME if host in LIVE_API_HOSTS else SANDBOX_NAME
    configured = settings.paypal_ca_cert
    if configured is not None:
        roots = _from_file(configured)
    elif settings.environment is Environment.PRODUCTION:
        roots = _from_file(Path(certifi.where()))
    else:
        roots = _from_sandbox(settings.paypal_api_base.rstrip("/") + SANDBOX_CA_PATH)
    return CertificateCache(settings.paypal_certificate_allowed, roots, name)


def _from_file(path: Path) -> Roots:
    """Read at start: a missing or broken file stops the process, not the first webhook. (The
    public bundle holds a few old roots with a non-positive serial number, which ``cryptography``
    still loads with a deprecation warning: none of them is PayPal's.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        certificates = x509.load_pem_x509_certificates(path.read_bytes())

    async def roots() -> list[x509.Certificate]:
        return certificates

    return roots


def _from_sandbox(url: str) -> Roots:
    async def roots() -> list[x509.Certificate]:
        try:
            return x509.load_pem_x509_certificates(await _fetch(url))
        except (httpx.HTTPError, ValueError) as error:
            raise UnverifiableWebhook("the sandbox's root could not be fetched") from error

    return roots


async def verify(
    headers: Mapping[str, str],
    body: bytes,
    webhook_id: str,
    certificates: CertificateCache,
    *,
    max_age: timedelta,
    now: datetime | None = None,
) -> None:
    """Raise ``UnverifiableWebhook`` unless PayPal signed exactly this body for our webhook,
    within ``max_age`` of now, with a certificate that is valid now."""
    values = {name: headers.get(name) for name in REQUIRED_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise UnverifiableWebhook("missing headers: " + ", ".join(missing))
    if values["paypal-auth-algo"] != "SHA256withRSA":
        raise UnverifiableWebhook("unsupported signature algorithm")
    at = now or datetime.now(UTC)
    try:
        sent = datetime.fromisoformat(str(values["paypal-transmission-time"]))
    except ValueError:
        raise UnverifiableWebhook("transmission time is not a timestamp") from None
    if sent.tzinfo is None or abs(at - sent) > max_age:
        raise UnverifiableWebhook(f"transmission time is more than {max_age} away from now")
    public_key = await certificates.verified_key(str(values["paypal-cert-url"]), at)
    message = (
        f"{values['paypal-transmission-id']}|{values['paypal-transmission-time']}|"
        f"{webhook_id}|{zlib.crc32(body)}"
    ).encode()
    try:
        signature = base64.b64decode(str(values["paypal-transmission-sig"]), validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as error:
        raise UnverifiableWebhook("signature does not match") from error
