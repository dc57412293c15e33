"""At-least-once batches from a Kafka consumer: commit after success, rewind and back off after a failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

log = structlog.get_logger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Batch: TypeAlias = "dict[TopicPartition, list[Record]]"
MAX_BACKOFF = 5.0


async def commit_or_rewind(
    consumer: AIOKafkaConsumer,
    batch: Batch,
    handle: Callable[[list[Record]], Awaitable[object]],
    *,
    failures: int,
    what: str,
) -> int:
    """Runs `handle` over the batch and commits past it; returns the count of failures in a row (0 on success).

    A failure (MongoDB or Kafka down) commits nothing: the consumer is sought back to the batch's first offsets,
    so the same records come again after an exponential back-off.
    """
    try:
        await handle([r for records in batch.values() for r in records])
    except Exception as exc:
        failures += 1
        log.warning(f"{what} failed; retrying", error_type=type(exc).__name__, error=str(exc)[:200])
        for tp, records in batch.items():
            # A partition no longer ours after a rebalance: its new owner starts from the committed offset.
            with contextlib.suppress(IllegalStateError):
                consumer.seek(tp, records[0].offset)
        await asyncio.sleep(min(MAX_BACKOFF, 0.1 * 2**failures))
        return failures
    try:
        await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    except CommitFailedError as exc:
        # A rebalance took the partitions away; their new owner redoes the batch (with the same ids).
        log.warning("offset commit failed after a rebalance", error=str(exc)[:200])
    return 0


async def partition_lags(consumer: AIOKafkaConsumer) -> list[tuple[TopicPartition, int]]:
    """How far behind its assigned partitions' ends the consumer is, per partition.

    The ends are asked of the broker (one ListOffsets request), not taken from the high-water marks of fetch
    responses: a paused partition is not fetched, so its high-water mark stops moving just while it falls behind.
    """
    assigned = list(consumer.assignment())
    if not assigned:
        return []
    ends = await consumer.end_offsets(assigned)
    lags = []
    for tp, end in ends.items():
        with contextlib.suppress(IllegalStateError):  # revoked meanwhile
            lags.append((tp, max(0, end - await consumer.position(tp))))
    return lags
