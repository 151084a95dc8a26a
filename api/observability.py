"""Request ids, the access log, and Prometheus metrics (counted into ``services.metrics``).

Every request gets an id: the caller's ``X-Request-Id`` when it is a UUID (or 32 hex digits, as
nginx's ``$request_id`` is), a new one otherwise; it is echoed in the response and written on every
log line of the request (asgi-correlation-id's middleware, then ``services.logs``). A free-form id
is replaced rather than logged: a header a client fills in could carry anything, an email included.

One access line per request names the matched route template, never the raw path or query, so
nothing a client typed (an id, an email, a mistaken card number) is written to logs.
"""

from __future__ import annotations

import logging
import time

import structlog
from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.metrics import Metrics

log = logging.getLogger("durapay.access")

REQUEST_ID_HEADER = "X-Request-Id"
"""asgi-correlation-id's ``CorrelationIdMiddleware`` reads and echoes it (``api.main``)."""


class AccessLogMiddleware:
    """Times the request, counts it, and writes its access line; runs inside the request id's
    middleware and outside everything that may refuse the request (raw card data, body size)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        # The request's state, shared with ``request.state`` below, where authentication leaves
        # the caller's key id (``api.deps.authenticated``).
        state: dict[str, object] = scope.setdefault("state", {})

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=correlation_id.get()):
            try:
                await self.app(scope, receive, capture)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                elapsed = time.perf_counter() - started
                method = scope["method"]
                self.metrics.requests.labels(method, route, str(status)).inc()
                self.metrics.latency.labels(method, route).observe(elapsed)
                log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                        "request_id": correlation_id.get(),
                        "api_key_id": state.get("api_key_id"),
                    },
                )
