"""Tuning of one dispatcher process: concurrency, windows, breaker and disable thresholds, topic names."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookline import topics

GROUP_ID = "hookline-dispatcher"
RELAY_GROUP_ID = "hookline-retry-relay"


@dataclass(frozen=True)
class DeliveryTopics:
    """Where tasks come from and go to; tests give each engine its own set so runs never mix."""

    deliveries: str = topics.DELIVERIES
    dead: str = topics.DELIVERIES_DEAD
    retry_prefix: str = topics.RETRY_PREFIX

    def retry(self, tier_seconds: int) -> str:
        return topics.retry_topic(tier_seconds).replace(topics.RETRY_PREFIX, self.retry_prefix, 1)


@dataclass(frozen=True)
class DispatcherOptions:
    topics: DeliveryTopics = field(default_factory=DeliveryTopics)
    group_id: str = GROUP_ID
    relay_group_id: str = RELAY_GROUP_ID
    # Requests in flight in this process, across every webhook.
    max_in_flight: int = 512
    # Unfinished tasks per partition before the partition is paused: how far one slow webhook can hold it up.
    # A task stays unfinished until its attempt is stored, so the window must also cover a partition's tasks
    # during one slow record write: at 256, the bench's busiest partitions (600 tasks/s) paused in some latency
    # runs while FerretDB took up to 0.25 s for a batch, and each pause held that partition's deliveries back.
    partition_window: int = 1024
    # Requests in flight to one webhook.
    per_webhook_concurrency: int = 16
    # Circuit breaker: consecutive failed attempts that open it, and how long it stays open before a probe.
    breaker_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    breaker_max_cooldown_seconds: float = 600.0
    # DESIGN.md §6 disable rule: every attempt failed for this long, or this many failed deliveries in a row.
    disable_after_seconds: float = 5 * 24 * 3600.0
    disable_after_failures: int = 1000
    # How often changed failure streaks (and breakers) are saved to MongoDB for the next owner of a webhook.
    streak_flush_seconds: float = 5.0
    # How long a task for an unknown webhook waits for the config follower to reach the topic's end.
    unknown_webhook_wait_seconds: float = 5.0
    # At shutdown or partition revocation: how long in-flight tasks may take to finish before being handed back.
    drain_seconds: float = 10.0
    commit_interval_seconds: float = 0.5
    record_batch_size: int = 500
    record_flush_seconds: float = 0.05
    metrics_interval_seconds: float = 5.0
    expiry_sweep_seconds: float = 3600.0
