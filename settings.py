"""Every knob Durapay has, read from the environment with the prefix ``DURAPAY_``.

The environment defaults to ``production``: a deployment that forgets to say where it runs gets
the strict checks, never the public dev keys. Every other default describes the local dev stack,
which ``make dev`` and the tests select explicitly (``DURAPAY_ENVIRONMENT=dev`` / ``test``). In
``production`` the settings refuse to load while a dev secret, a sandbox credential or a loopback
provider address is still in place: a deployment that forgot one must not start, rather than start
insecurely or against a stand-in.
"""

from __future__ import annotations

import base64
import ipaddress
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from money import ISO_4217

# PayPal's REST API takes payments only in these (developer.paypal.com, "Currency codes").
PAYPAL_CURRENCIES = frozenset(
    "AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF ILS JPY MXN MYR NOK NZD PHP PLN SEK SGD THB "
    "TWD USD".split()
)
DEV_STRIPE_API_KEY = "sk_test_durapay_dev"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_durapay_dev"
DEV_PAYPAL_CLIENT_SECRET = "sandbox-client-secret"
DEV_PAYPAL_CLIENT_ID = "sandbox-client-id"
DEV_PAYPAL_WEBHOOK_ID = "WH-DURAPAY-DEV"
DEV_CLIENT_KEY = "sk_dev_client"
DEV_ADMIN_KEY = "sk_dev_admin"
DEV_ACCOUNT_ID = "acct_dev"
DEV_PAYLOAD_KEY_ID = "dev-1"
DEV_PAYLOAD_KEY = "ZHVyYXBheS1kZXYtcGF5bG9hZC1rZXktMzItYnl0ZXM="
"""Base64 of 32 public bytes: anyone reading this file decrypts what it encrypted."""
DEV_UI_ORIGINS = ("http://127.0.0.1:8233", "http://localhost:8233")
DEV_WEBHOOK_SEALING_KEY = "ZHVyYXBheS1kZXYtd2ViaG9vay1zZWFsaW5nLWtleSE="
DEV_API_KEY_SECRET = "durapay-dev-api-key-secret"


class Environment(StrEnum):
    """Where the service runs; only ``production`` insists on real secrets."""

    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Durapay configuration; see README "Configuration" for the table of variables."""

    model_config = SettingsConfigDict(env_prefix="DURAPAY_", extra="ignore", env_ignore_empty=True)
    """An empty variable counts as unset: compose passes ``${VAR:-}`` as an empty string."""

    environment: Environment = Environment.PRODUCTION
    data_dir: Path = Path(".data")
    database_url: str = "sqlite+aiosqlite:///.data/durapay.db"
    log_level: str = "INFO"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "durapay"
    # Reaching a Temporal cluster elsewhere (Temporal Cloud, a self-hosted cluster behind TLS).
    temporal_api_key: SecretStr | None = None
    """Sent as ``Authorization: Bearer`` to the frontend (Temporal Cloud); implies TLS."""
    temporal_tls: bool = False
    """TLS to the frontend; on by itself when an API key or any ``temporal_tls_*`` is set."""
    temporal_tls_ca_cert: Path | None = None
    """PEM roots the frontend's certificate must chain to; unset, the system's roots."""
    temporal_tls_client_cert: Path | None = None
    temporal_tls_client_key: Path | None = None
    """mTLS: the client certificate and its key (PEM), both or neither."""
    temporal_tls_server_name: str | None = None
    """The name the frontend's certificate is checked against, when not the address's host."""

    stripe_api_key: SecretStr = SecretStr(DEV_STRIPE_API_KEY)
    stripe_api_base: str = "http://127.0.0.1:8420"
    stripe_webhook_secret: SecretStr = SecretStr(DEV_STRIPE_WEBHOOK_SECRET)
    localstripe_port: int = 8420

    paypal_client_id: str = DEV_PAYPAL_CLIENT_ID
    paypal_client_secret: SecretStr = SecretStr(DEV_PAYPAL_CLIENT_SECRET)
    paypal_api_base: str = "http://127.0.0.1:8421"
    paypal_webhook_id: str = DEV_PAYPAL_WEBHOOK_ID

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8425
    smtp_tls: Literal["opportunistic", "starttls", "implicit"] = "opportunistic"
    """``opportunistic``: STARTTLS when the server offers it (the dev sink does not);
    ``starttls``: required, or no mail (port 587); ``implicit``: TLS from the first byte (465)."""
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = "billing@durapay.localhost"
    plan_catalog_path: Path = Path("db/catalog/plans.v1.json")
    tax_rate_basis_points: int = Field(default=0, ge=0, le=10_000)
    grace_period: timedelta = Field(default=timedelta(days=7))
    dunning_retry_days: tuple[int, ...] = (3, 7, 14)
    dunning_retry_days_by_plan: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    dunning_final_status: Literal["canceled", "unpaid"] = "canceled"
    incomplete_expiry: timedelta = Field(default=timedelta(hours=23))
    update_payment_method_url: str = (
        "http://127.0.0.1:8000/billing/payment-method?subscription={subscription_id}"
    )
    """The merchant's page where a customer replaces their card, linked from every dunning mail;
    ``{subscription_id}`` is replaced with the subscription's id."""

    payment_settle_wait: timedelta = Field(default=timedelta(seconds=10))
    action_timeout: timedelta = Field(default=timedelta(hours=1))
    authorization_expiry: timedelta = Field(default=timedelta(days=7))
    refund_window: timedelta = Field(default=timedelta(days=180))
    provider_call_timeout: timedelta = Field(default=timedelta(seconds=30))

    # Payment links and the payment page (/pay/{token}).
    merchant_name: str = "Durapay"
    """The name a customer sees on the payment page, the public payment routes, and every
    invoice, receipt and statement (and the mails sending them)."""
    payment_link_expiry: timedelta = Field(default=timedelta(days=7))
    """How long a link lives when its creator does not say (``expires_in``)."""
    payment_link_max_expiry: timedelta = Field(default=timedelta(days=90))
    stripe_publishable_key: str = "pk_test_durapay_dev"
    """The key Stripe.js runs with in the customer's browser (``pk_…``: not a secret)."""
    stripe_js_url: str = ""
    """Where the payment page loads Stripe.js from; unset: ``https://js.stripe.com/v3/`` for
    Stripe's own API, and the stand-in's copy (``<stripe_api_base>/js.stripe.com/v3/``) for
    localstripe."""

    @property
    def stripe_js_source(self) -> str:
        if self.stripe_js_url:
            return self.stripe_js_url
        if self.stripe_api_base.rstrip("/") == "https://api.stripe.com":
            return "https://js.stripe.com/v3/"
        return f"{self.stripe_api_base.rstrip('/')}/js.stripe.com/v3/"

    routing_priority: tuple[Literal["stripe", "paypal"], ...] = ("stripe", "paypal")
    stripe_currencies: frozenset[str] = ISO_4217
    paypal_currencies: frozenset[str] = PAYPAL_CURRENCIES
    provider_fallback_after: timedelta = Field(default=timedelta(seconds=10))
    provider_outage_limit: timedelta = Field(default=timedelta(hours=24))
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_cool_down: timedelta = Field(default=timedelta(seconds=30))
    # Credits and wallet (the ledger): credits a dollar buys, the smallest purchase, the most a
    # customer may hold.
    credits_per_dollar: int = Field(default=100, ge=1)
    credits_min_purchase: int = Field(default=500, ge=1)
    credits_max_balance: int = Field(default=1_000_000, ge=1)

    # Payload encryption and the codec server (services/payload_codec.py, api/routes/codec.py).
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEV_PAYLOAD_KEY_ID: SecretStr(DEV_PAYLOAD_KEY)}
    )
    """``{key_id: base64 of 32 bytes}``: every key a Temporal payload may be encrypted with."""
    payload_key_id: str = DEV_PAYLOAD_KEY_ID
    """The key that encrypts new payloads; the others only decrypt (rotation)."""
    codec_cors_origins: tuple[str, ...] = DEV_UI_ORIGINS
    """Origins of the Temporal Web UI whose browsers may call ``/codec/*`` (CORS)."""
    codec_trust_ui_origin: bool = False
    """Dev only (refused in production): a keyless ``/codec`` request from one of
    ``codec_cors_origins`` is served, because the dev Web UI has no login to send a key with."""

    # Risk: scoring thresholds, limits, reviews (README "Risk, limits and reviews").
    risk_challenge_threshold: int = Field(default=30, ge=0, le=100)
    risk_review_threshold: int = Field(default=60, ge=0, le=100)
    risk_block_threshold: int = Field(default=80, ge=0, le=100)
    """The thresholds of an account that never set its own (``PUT /v1/admin/risk/rules``)."""
    risk_large_amount: dict[str, int] = Field(default_factory=lambda: {"USD": 1_000_000})
    """``large_amount`` from this many minor units, per currency (a currency absent: never)."""
    single_payment_maximum: dict[str, int] = Field(default_factory=lambda: {"USD": 5_000_000})
    """Every account's single-payment maximum per currency (422 ``amount_exceeds_limit``)."""
    kyc_tier_limits: dict[str, dict[str, tuple[int, int, int]]] = Field(
        default_factory=lambda: {
            "USD": {
                "basic": (100_000, 200_000, 1_000_000),
                "intermediate": (500_000, 1_000_000, 5_000_000),
                "advanced": (5_000_000, 10_000_000, 50_000_000),
            }
        }
    )
    """Per currency, per KYC tier: (single, day, month) in minor units."""
    review_timeout: timedelta = Field(default=timedelta(hours=24))

    # Invoices, receipts and statements (documents; ``merchant_name`` above names the seller on
    # them and in the mails sending them): the outbox sweeper.
    outbox_sweep_interval: timedelta = Field(default=timedelta(seconds=60))
    """How often the worker retries outbox mails left pending (an SMTP outage)."""
    outbox_sweep_grace: timedelta = Field(default=timedelta(minutes=5))
    """How old a pending mail must be before the sweeper takes it from its own sender."""
    # Webhooks to merchants (issue 20): endpoint secrets are sealed at rest with this key.
    webhook_sealing_key: SecretStr = SecretStr(DEV_WEBHOOK_SEALING_KEY)
    """Base64 of 32 random bytes: the AES-256-GCM key sealing endpoint signing secrets in the
    database (they cannot be hashed: every delivery signs with them). Production refuses the dev
    value; changing it makes existing endpoints' secrets unreadable (roll them after)."""

    @property
    def webhook_public_addresses_only(self) -> bool:
        """Production delivers only to https URLs resolving to public addresses; dev and test
        deliver to local receivers too."""
        return self.environment is Environment.PRODUCTION

    @field_validator("webhook_sealing_key")
    @classmethod
    def _sealing_key_is_aes_256(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except ValueError as error:
            raise ValueError("must be base64") from error
        if len(raw) != 32:
            raise ValueError("must be base64 of 32 bytes (an AES-256 key)")
        return value

    # The edge (issue 15): rate limits, request size, API key hashing, webhook signatures.
    rate_limit_api: str = "100/second"
    """Per API key (per client IP where a request has no key), ``limits`` notation."""
    rate_limit_public_view: str = "20/minute"
    rate_limit_public_action: str = "5/minute"
    """The public payment-link routes, per token and client IP: viewing (GET) and acting."""
    redis_url: str = ""
    """Where every API process keeps the rate-limit counters they share (``redis://host:6379/0``);
    unset, each process counts in its own memory (``make dev`` runs one process)."""
    api_key_secret: SecretStr = SecretStr(DEV_API_KEY_SECRET)
    """The HMAC key API keys are hashed with: a leaked ``api_keys`` table cannot be checked
    against guessed keys without it. Changing it invalidates every issued key."""
    paypal_webhook_max_age: timedelta = Field(default=timedelta(minutes=5))
    """A PayPal delivery whose transmission time is older (or further ahead) is refused."""
    paypal_ca_cert: Path | None = None
    """PEM roots PayPal's webhook certificates must chain to; unset, the public roots (certifi)
    in production, the root of Durapay's PayPal sandbox (fetched from it) elsewhere."""
    alerts_account_id: str = DEV_ACCOUNT_ID
    """The account whose admins see alerts about the deployment itself rather than one account
    (forged webhook deliveries): set it to the operators' account in production."""

    # Reconciliation and operator retries (issue 20): how often the Schedule runs reconciliation,
    # how far back its first run looks, how old an unowned unconfirmed intent must be before it
    # is canceled, and the margin for provider clocks when listing from the last watermark.
    reconciliation_interval: timedelta = Field(default=timedelta(hours=1))
    reconciliation_first_lookback: timedelta = Field(default=timedelta(days=1))
    reconciliation_orphan_grace: timedelta = Field(default=timedelta(minutes=15))
    reconciliation_clock_skew: timedelta = Field(default=timedelta(minutes=5))
    paypal_reporting_lag: timedelta = Field(default=timedelta(hours=3))
    """How far PayPal's transaction search may lag: a lost create's lookup that finds nothing is
    final only this long after the create was last sent."""

    api_docs: bool | None = None
    """``/docs``, ``/redoc`` and ``/openapi.json``: served when true, not when false; unset, served
    everywhere but in production (the schema names every route, the admin ones too)."""

    @property
    def api_base_url(self) -> str:
        """The address providers and clients reach the API at."""
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"

    def paypal_certificate_allowed(self, url: str) -> bool:
        """Where PayPal webhook certificates may come from: PayPal's own hosts over https in
        production, our sandbox elsewhere. Anything else is a forgery attempt."""
        parsed = urlsplit(url)
        if self.environment is Environment.PRODUCTION:
            host = parsed.hostname or ""
            return parsed.scheme == "https" and (
                host == "paypal.com" or host.endswith(".paypal.com")
            )
        return url.startswith(self.paypal_api_base.rstrip("/") + "/")

    def provider_currencies(self, provider: str) -> frozenset[str]:
        """The currencies ``provider`` takes payments in, upper case."""
        codes = self.paypal_currencies if provider == "paypal" else self.stripe_currencies
        return frozenset(code.upper() for code in codes)

    @property
    def api_docs_enabled(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.environment is not Environment.PRODUCTION

    @property
    def dev_keys_enabled(self) -> bool:
        """Dev API keys exist only where nobody can reach real money."""
        return self.environment is not Environment.PRODUCTION

    @field_validator("update_payment_method_url")
    @classmethod
    def _only_the_subscription_placeholder(cls, value: str) -> str:
        """A template that cannot be filled fails at start, not in the first dunning mail."""
        try:
            value.format(subscription_id="sub_check")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError("may contain no placeholder other than {subscription_id}") from error
        return value

    @model_validator(mode="after")
    def _client_certificate_and_key_together(self) -> Settings:
        if (self.temporal_tls_client_cert is None) != (self.temporal_tls_client_key is None):
            raise ValueError(
                "DURAPAY_TEMPORAL_TLS_CLIENT_CERT and DURAPAY_TEMPORAL_TLS_CLIENT_KEY "
                "go together (mTLS): set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _encrypting_key_is_known(self) -> Settings:
        if self.payload_key_id not in self.payload_keys:
            raise ValueError(
                f"DURAPAY_PAYLOAD_KEY_ID={self.payload_key_id} names no key of DURAPAY_PAYLOAD_KEYS"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_values_in_production(self) -> Settings:
        """Everything a production process must not start with, named at once, so an operator
        fixes the whole list in one go rather than one variable per restart."""
        if self.environment is not Environment.PRODUCTION:
            return self
        secrets = {
            "DURAPAY_STRIPE_API_KEY": self.stripe_api_key.get_secret_value() == DEV_STRIPE_API_KEY,
            "DURAPAY_STRIPE_WEBHOOK_SECRET": (
                self.stripe_webhook_secret.get_secret_value() == DEV_STRIPE_WEBHOOK_SECRET
            ),
            "DURAPAY_PAYPAL_CLIENT_SECRET": (
                self.paypal_client_secret.get_secret_value() == DEV_PAYPAL_CLIENT_SECRET
            ),
            "DURAPAY_PAYLOAD_KEYS": any(
                key.get_secret_value() == DEV_PAYLOAD_KEY for key in self.payload_keys.values()
            ),
            "DURAPAY_WEBHOOK_SEALING_KEY": (
                self.webhook_sealing_key.get_secret_value() == DEV_WEBHOOK_SEALING_KEY
            ),
            "DURAPAY_API_KEY_SECRET": (
                self.api_key_secret.get_secret_value() == DEV_API_KEY_SECRET
            ),
        }
        sandbox = {
            "DURAPAY_PAYPAL_CLIENT_ID": self.paypal_client_id == DEV_PAYPAL_CLIENT_ID,
            "DURAPAY_PAYPAL_WEBHOOK_ID": self.paypal_webhook_id == DEV_PAYPAL_WEBHOOK_ID,
        }
        urls = {
            "DURAPAY_STRIPE_API_BASE": self.stripe_api_base,
            "DURAPAY_PAYPAL_API_BASE": self.paypal_api_base,
            "DURAPAY_UPDATE_PAYMENT_METHOD_URL": self.update_payment_method_url,
        }
        problems = [
            _listing("dev secrets", [name for name, dev in secrets.items() if dev]),
            _listing("sandbox credentials", [name for name, dev in sandbox.items() if dev]),
            _listing(
                "loopback addresses (the local stand-ins)",
                [f"{name}={url}" for name, url in urls.items() if _is_loopback(url)],
            ),
            _listing(
                "an SMTP password that could be sent unencrypted (set DURAPAY_SMTP_TLS to "
                "starttls or implicit)",
                ["DURAPAY_SMTP_TLS=opportunistic"]
                if self.smtp_username and self.smtp_tls == "opportunistic"
                else [],
            ),
            _listing(
                "a codec server open to any browser (an admin key decrypts in production)",
                ["DURAPAY_CODEC_TRUST_UI_ORIGIN=true"] if self.codec_trust_ui_origin else [],
            ),
        ]
        found = [problem for problem in problems if problem]
        if found:
            raise ValueError(
                "refusing to start in production with "
                + "; with ".join(found)
                + " (a local stack sets DURAPAY_ENVIRONMENT=dev)"
            )
        return self


def _listing(what: str, names: list[str]) -> str:
    return f"{what}: {', '.join(sorted(names))}" if names else ""


def _is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (where only the dev stand-ins listen)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
