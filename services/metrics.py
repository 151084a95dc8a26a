"""Prometheus metrics of the API process: one registry per app, so several apps in one process
(tests) never collide. The access-log middleware and the services count into the same registry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

M = TypeVar("M", Counter, Gauge, Histogram)


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = self._metric(
            Counter,
            "durapay_http_requests_total",
            "HTTP requests by route template and status.",
            "method",
            "route",
            "status",
        )
        self.latency = self._metric(
            Histogram,
            "durapay_http_request_duration_seconds",
            "HTTP request latency by route template.",
            "method",
            "route",
        )
        self.payments = self._metric(
            Counter,
            "durapay_payments_total",
            "Payment creation responses by resulting status.",
            "status",
        )
        self.circuit_open = self._metric(
            Gauge,
            "durapay_provider_circuit_open",
            "1 while the provider's circuit is open (consecutive transport failures).",
            "provider",
        )
        self.consecutive_failures = self._metric(
            Gauge,
            "durapay_provider_consecutive_failures",
            "Transport failures in a row at the provider, as the workers recorded them.",
            "provider",
        )
        self.webhooks = self._metric(
            Counter,
            "durapay_webhook_events_total",
            "Provider webhook deliveries by provider and outcome.",
            "provider",
            "outcome",
        )
        self.invalid_webhook_signatures = self._metric(
            Counter,
            "durapay_webhook_invalid_signatures_total",
            "Webhook deliveries refused for a missing, forged, stale or replayed signature.",
            "provider",
        )

        self.alerts = AlertCounts()
        self.registry.register(self.alerts)

    def _metric(self, kind: type[M], name: str, documentation: str, *labels: str) -> M:
        return kind(name, documentation, labels, registry=self.registry)


class AlertCounts(Collector):
    """``durapay_alerts_total{kind,severity}``: alerts ever raised, as last read from the alerts
    table (every process raises them; the table is the only place that sees them all)."""

    def __init__(self) -> None:
        self._counts: Sequence[tuple[str, str, int]] = ()

    def set_counts(self, counts: Iterable[tuple[str, str, int]]) -> None:
        self._counts = tuple(counts)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "durapay_alerts", "Alerts raised, by kind and severity.", labels=["kind", "severity"]
        )
        for kind, severity, count in self._counts:
            family.add_metric([kind, severity], count)
        yield family
