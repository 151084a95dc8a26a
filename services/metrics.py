"""Prometheus metrics of the API process: one registry per app, so several apps in one process
(tests) never collide. The access-log middleware and the services count into the same registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
