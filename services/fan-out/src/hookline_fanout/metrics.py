"""Prometheus metrics of the fan-out service (`hookline_fanout_*`), in a registry of the app's own."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

WIDTH_BUCKETS = (0, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 2500, 10_000, 50_000)


class FanoutMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.events = Counter("hookline_fanout_events", "Events fanned out", registry=self.registry)
        self.tasks = Counter(
            "hookline_fanout_tasks_produced", "Delivery tasks produced and acknowledged", registry=self.registry
        )
        self.width = Histogram(
            "hookline_fanout_width", "Matching webhooks per event", buckets=WIDTH_BUCKETS, registry=self.registry
        )
        self.unreadable = Counter(
            "hookline_fanout_unreadable_events", "Unreadable messages of hookline.events", registry=self.registry
        )
        self.consumer_lag = Gauge(
            "hookline_fanout_consumer_lag",
            "Events not yet consumed, per partition of hookline.events",
            ["partition"],
            registry=self.registry,
        )
        self.webhooks = Gauge("hookline_fanout_webhooks", "Receiving webhooks in the index", registry=self.registry)
