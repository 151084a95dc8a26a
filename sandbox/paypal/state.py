"""The sandbox's configuration and the one object handlers reach through ``request.app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from sandbox.paypal.store import Store
from sandbox.paypal.webhooks import WebhookSender


@dataclass(frozen=True)
class SandboxConfig:
    """What a run of the sandbox is told at start.

    ``public_url`` is where callers reach the sandbox; it names the approval pages and the
    certificate URL put in webhook headers, which are built outside any request.
    """

    public_url: str = "http://127.0.0.1:8421"
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - published dev credential
    webhook_url: str | None = None
    webhook_id: str = "WH-DURAPAY-DEV"
    request_id_lifetime_seconds: float | None = None
    """How long a ``PayPal-Request-Id`` is remembered (PayPal: 6 hours for orders); ``None``
    remembers it for the sandbox's life."""


@dataclass
class Sandbox:
    """Configuration, resources and the webhook sender of one running sandbox."""

    config: SandboxConfig
    webhooks: WebhookSender
    store: Store = field(default_factory=Store)

    def url(self, path: str) -> str:
        """An absolute URL on this sandbox, as PayPal's HATEOAS links are absolute."""
        return self.config.public_url.rstrip("/") + path


def get_sandbox(request: Request) -> Sandbox:
    """The sandbox serving this request."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
