"""Access log and Prometheus metrics.

The access log names the matched route template, never the raw path or query, so nothing a client
typed (an id, an email, a mistaken card number) is written to logs.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("durapay.access")


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "durapay_http_requests_total",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "durapay_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.payments = Counter(
            "durapay_payments_total",
            "Payment creation responses by resulting status.",
            ["status"],
            registry=self.registry,
        )
        self.circuit_open = Gauge(
            "durapay_provider_circuit_open",
            "1 while the provider's circuit is open (consecutive transport failures).",
            ["provider"],
            registry=self.registry,
        )
        self.consecutive_failures = Gauge(
            "durapay_provider_consecutive_failures",
            "Transport failures in a row at the provider, as the workers recorded them.",
            ["provider"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "durapay_webhook_events_total",
            "Provider webhook deliveries by provider and outcome.",
            ["provider", "outcome"],
            registry=self.registry,
        )


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            log.info("%s %s %s %.1fms", method, route, status, elapsed * 1000)
