"""At-least-once batches from a Kafka consumer: commit after success, rewind and back off after a failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

log = structlog.get_logger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Batch: TypeAlias = "dict[TopicPartition, list[Record]]"
MAX_BACKOFF = 5.0
# Longest a finished batch waits for its offsets to be committed. A crash redoes at most this much work (with the
# same ids, so receivers see the same `webhook-id`); a clean stop or a rebalance commits at once.
COMMIT_INTERVAL_SECONDS = 0.25


class OffsetCommitter:
    """Commits a consumer's finished offsets in the background, at most every `interval` seconds.

    Off the batch's path: the next batch is fetched and handled while a commit is out, and at moderate rates one
    commit covers many small batches. A commit per batch was a third of the ingest's and the fan-out's Kafka
    requests at 160 events/s, and its round trip a part of every event's latency (docs/performance.md).
    """

    def __init__(self, consumer: AIOKafkaConsumer, interval: float = COMMIT_INTERVAL_SECONDS) -> None:
        self.consumer = consumer
        self._interval = interval
        self._pending: dict[TopicPartition, int] = {}
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def finished(self, offsets: dict[TopicPartition, int]) -> None:
        """Notes the next offset to read per partition; it is committed within the interval."""
        self._pending.update(offsets)
        self._due.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="offset-committer")

    async def flush(self) -> None:
        """Commits what has finished, now; offsets of partitions no longer assigned are dropped (their new owner
        redoes those records). A failed commit is kept for the next try."""
        async with self._lock:
            assigned = self.consumer.assignment()
            for tp in [tp for tp in self._pending if tp not in assigned]:
                del self._pending[tp]
            offsets = dict(self._pending)
            if not offsets:
                return
            try:
                await self.consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # A rebalance took the partitions away; their new owner redoes the batches (with the same ids).
                log.warning("offset commit failed after a rebalance", error=str(exc)[:200])
            except KafkaError as exc:
                log.warning("offset commit failed; retrying", error=str(exc)[:200])
                self._due.set()
                return
            # Kept until committed (a commit cancelled by close() leaves them for its final flush); batches that
            # finished meanwhile stay pending.
            for tp, offset in offsets.items():
                if self._pending.get(tp) == offset:
                    del self._pending[tp]

    async def close(self) -> None:
        """Stops the background commits and commits what has finished (before the consumer stops)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()  # logs a failed commit rather than raising it

    def subscribe(self, topics: list[str]) -> None:
        """Subscribes the consumer to `topics`, committing finished offsets before a rebalance hands partitions
        to another member."""
        self.consumer.subscribe(topics, listener=_CommitOnRevoke(self))

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            await self.flush()
            await asyncio.sleep(self._interval)


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, committer: OffsetCommitter) -> None:
        self._committer = committer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._committer.flush()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


async def commit_or_rewind(
    committer: OffsetCommitter,
    batch: Batch,
    handle: Callable[[list[Record]], Awaitable[object]],
    *,
    failures: int,
    what: str,
) -> int:
    """Runs `handle` over the batch and has its offsets committed; returns the count of failures in a row (0 on
    success).

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
                committer.consumer.seek(tp, records[0].offset)
        await asyncio.sleep(min(MAX_BACKOFF, 0.1 * 2**failures))
        return failures
    committer.finished({tp: records[-1].offset + 1 for tp, records in batch.items()})
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
