"""The sandbox as one ASGI app serving PayPal's REST paths at its root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from sandbox.paypal import approval, auth, notifications, orders, payments, reporting, vault
from sandbox.paypal.errors import PayPalError, paypal_error_handler
from sandbox.paypal.state import Sandbox, SandboxConfig
from sandbox.paypal.webhooks import WebhookSender


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """A fresh sandbox with empty state and a new webhook signing key."""
    config = config or SandboxConfig()
    sandbox = Sandbox(
        config=config,
        webhooks=WebhookSender(config.public_url, config.webhook_url, config.webhook_id),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.webhooks.drain()

    # No OpenAPI pages: the root belongs to PayPal's paths only.
    app = FastAPI(
        title="PayPal sandbox", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.sandbox = sandbox
    app.add_exception_handler(PayPalError, paypal_error_handler)
    app.add_exception_handler(HTTPException, paypal_error_handler)
    for module in (auth, orders, payments, vault, approval, notifications, reporting):
        app.include_router(module.router)
    return app
