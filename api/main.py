"""``create_app()``: the FastAPI application; its lifespan opens the services' runtime (database,
Temporal client, keys, plan catalog)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from temporalio.client import Client

from api.audit import AuditMiddleware, AuditWriter
from api.body_limit import BodyLimitMiddleware
from api.card_guard import CardGuardMiddleware
from api.codec_cors import CodecCorsMiddleware
from api.errors import install_error_handlers
from api.gate import GateMiddleware
from api.observability import REQUEST_ID_HEADER, AccessLogMiddleware
from api.openapi import install_openapi
from api.route_index import RouteIndex
from api.routes import (
    admin,
    api_keys,
    codec,
    customers,
    health,
    invoices,
    ledger,
    oversight,
    pay_page,
    payment_links,
    payments,
    plans,
    public_payment,
    receipts,
    reconciliation,
    risk,
    statements,
    subscriptions,
    webhooks,
    webhooks_out,
)
from api.security_headers import SecurityHeadersMiddleware
from services import logs
from services.metrics import Metrics
from services.rate_limits import RateLimiter
from services.runtime import open_runtime
from settings import Environment, Settings, get_settings

log = logging.getLogger("durapay.api")


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """Build the app; tests pass their own settings and an already connected Temporal client.

    Called with no settings (by uvicorn: ``uvicorn api.main:create_app --factory``), the app is
    the process's own, so it also sets up the process's logs (JSON lines, ``services.logs``);
    tests and the benchmark keep their own logging."""
    if settings is None:
        settings = get_settings()
        logs.configure(settings.log_level)
    metrics = Metrics()
    audit_writer = AuditWriter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, metrics, client) as runtime:
            app.state.runtime = runtime
            yield
            await audit_writer.drain()

    app = FastAPI(
        title="Durapay",
        version="0.1.0",
        description="Payment pipelines that cannot lose money, as durable Temporal workflows.",
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in (
        payments.router,
        customers.router,
        subscriptions.router,
        plans.router,
        invoices.router,
        receipts.router,
        statements.router,
        webhooks.router,
        webhooks_out.router,
        admin.router,
        api_keys.router,
        reconciliation.router,
        oversight.router,
        risk.router,
        health.router,
        payment_links.router,
        public_payment.router,
        pay_page.router,
        codec.router,
        ledger.router,
    ):
        app.include_router(router)
    install_openapi(app, docs=settings.api_docs_enabled)
    # The last added runs first: the request id, the security headers, the access log, the body
    # limit, the gate (who is calling, within their rate limit), the audit trail, then the card
    # guard: even a refused request has an id, its headers and an access line, nothing scans a
    # body before the caller is known and the body is known to be small, and a refusal of the
    # guard is audited. The Web UI's CORS preflights to /codec/* are answered before the gate.
    app.add_middleware(CardGuardMiddleware)
    routes = RouteIndex(app.router.routes)
    app.add_middleware(AuditMiddleware, routes=routes, writer=audit_writer)
    app.add_middleware(GateMiddleware, routes=routes, limiter=RateLimiter(settings))
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CodecCorsMiddleware, origins=settings.codec_cors_origins)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    app.add_middleware(
        SecurityHeadersMiddleware, https_only=settings.environment is Environment.PRODUCTION
    )
    app.add_middleware(CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER)
    return app
