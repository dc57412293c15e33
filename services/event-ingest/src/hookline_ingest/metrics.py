"""Prometheus metrics of the ingest service (`hookline_ingest_*`), in a registry of the app's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, GCCollector, PlatformCollector, ProcessCollector


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.accepted = Counter(
            "hookline_ingest_events_accepted", "Events accepted and published", ["source"], registry=self.registry
        )
        self.rejected = Counter(
            "hookline_ingest_events_rejected", "Events refused, by reason", ["source", "reason"], registry=self.registry
        )
        self.deduplicated = Counter(
            "hookline_ingest_events_deduplicated",
            "Events dropped as duplicates of a producer id seen within 24 h",
            ["source"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "hookline_ingest_consumer_lag",
            "Messages not yet consumed, per source topic and partition",
            ["topic", "partition"],
            registry=self.registry,
        )
