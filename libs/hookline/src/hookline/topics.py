"""Kafka topic names and the partition counts and configs they are created with."""

from __future__ import annotations

from typing import Final

import msgspec

from hookline.retry_schedule import RETRY_TIERS, tier_topic_suffix

INGEST: Final = "hookline.ingest"
INGEST_INVALID: Final = "hookline.ingest.invalid"
EVENTS: Final = "hookline.events"
ENDPOINTS: Final = "hookline.endpoints"
DELIVERIES: Final = "hookline.deliveries"
DELIVERIES_DEAD: Final = "hookline.deliveries.dead"
RETRY_PREFIX: Final = "hookline.deliveries.retry."


def retry_topic(tier_seconds: int) -> str:
    """The retry tier topic for a delay of exactly `tier_seconds` (one of `RETRY_TIERS`)."""
    return RETRY_PREFIX + tier_topic_suffix(tier_seconds)


class TopicSpec(msgspec.Struct, frozen=True):
    name: str
    partitions: int
    config: dict[str, str] = {}


_DAY_MS = str(24 * 3600 * 1000)
_WEEK_MS = str(7 * 24 * 3600 * 1000)

TOPICS: Final[tuple[TopicSpec, ...]] = (
    TopicSpec(INGEST, 12, {"retention.ms": _WEEK_MS}),
    TopicSpec(INGEST_INVALID, 3, {"retention.ms": _WEEK_MS}),
    TopicSpec(EVENTS, 12, {"retention.ms": _WEEK_MS}),
    # Compacted: the latest config of every webhook, replayed by fan-out and dispatchers at start-up.
    TopicSpec(
        ENDPOINTS,
        6,
        {"cleanup.policy": "compact", "min.compaction.lag.ms": "0", "segment.ms": "3600000"},
    ),
    TopicSpec(DELIVERIES, 12, {"retention.ms": _WEEK_MS}),
    *(TopicSpec(retry_topic(t), 12, {"retention.ms": _WEEK_MS}) for t in RETRY_TIERS),
    TopicSpec(DELIVERIES_DEAD, 3, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
)
