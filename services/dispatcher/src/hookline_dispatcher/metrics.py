"""The dispatcher's Prometheus metrics (prefix `hookline_dispatcher_`), registered once per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "hookline_dispatcher_deliveries",
    "Delivery attempts and task outcomes by outcome "
    "(succeeded, retried, dead, parked, dropped_deleted, dropped_disabled, malformed).",
    ["outcome"],
)
ATTEMPT_LATENCY = Histogram(
    "hookline_dispatcher_attempt_latency_seconds",
    "Time from sending a delivery to its outcome (response read or error).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30),
)
IN_FLIGHT = Gauge("hookline_dispatcher_in_flight", "Delivery tasks taken from Kafka and not yet finished.")
RETRY_BACKLOG = Gauge(
    "hookline_dispatcher_retry_backlog", "Messages waiting in retry tier partitions owned by this relay.", ["tier"]
)
CONSUMER_LAG = Gauge(
    "hookline_dispatcher_consumer_lag", "Messages on hookline.deliveries not yet read by this dispatcher."
)
RECORD_WRITE = Histogram(
    "hookline_dispatcher_record_write_seconds",
    "Time to store one batch of attempts and delivery statuses (tasks finish only once it is stored).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECORD_BATCH = Histogram(
    "hookline_dispatcher_record_batch_documents",
    "Documents per stored batch of attempts and delivery statuses.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
PARTITION_PAUSES = Counter(
    "hookline_dispatcher_partition_pauses_total",
    "Times a partition was paused because its unfinished tasks filled the partition window.",
)
