"""Reads delivery tasks with many in flight at once, and commits each partition only past finished tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord

from hookline import kafka
from hookline.batch_commits import partition_lags
from hookline_dispatcher import metrics
from hookline_dispatcher.offset_tracker import OffsetTracker, PartitionOffsets
from hookline_dispatcher.options import DispatcherOptions

log = structlog.get_logger(__name__)

# Longest pause between two tries of a task whose handler raised.
MAX_RETRY_DELAY_SECONDS = 10.0

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]
RevokeHandler = Callable[[list[TopicPartition]], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: TaskConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.hand_back(list(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))


class TaskConsumer:
    def __init__(
        self,
        bootstrap: str,
        options: DispatcherOptions,
        handler: RecordHandler,
        on_revoked: RevokeHandler | None = None,
    ) -> None:
        self._options = options
        self._handler = handler
        self._on_revoked = on_revoked
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=options.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            fetch_max_wait_ms=kafka.FETCH_MAX_WAIT_MS,
            session_timeout_ms=30000,
            heartbeat_interval_ms=3000,
            max_poll_interval_ms=300000,
        )
        self._tracker = OffsetTracker()
        self._paused: set[TopicPartition] = set()
        # Partitions being handed back: nothing more is taken from them while their tasks drain.
        self._revoking: set[TopicPartition] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._partition_tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._commit_task: asyncio.Task[None] | None = None
        self._commit_lock = asyncio.Lock()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def start(self) -> None:
        self._consumer.subscribe([self._options.topics.deliveries], listener=_Rebalance(self))
        await self._consumer.start()
        self._loop_task = asyncio.create_task(self._run(), name="task-consumer")
        self._commit_task = asyncio.create_task(self._commit_periodically(), name="task-committer")

    async def stop(self) -> None:
        """Stops taking tasks, lets in-flight ones finish within the drain time, commits, and leaves the group."""
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await self._drain(list(self._tasks), "shutdown")
        if self._commit_task is not None:
            self._commit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._commit_task
        await self.commit()
        await self._consumer.stop()

    async def lag(self) -> int:
        """Tasks on the assigned partitions not yet read, paused partitions included."""
        return sum(lag for _tp, lag in await partition_lags(self._consumer))

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = await self._consumer.getmany(timeout_ms=200)
            except KafkaError as exc:
                log.warning("fetching tasks failed; retrying", error=str(exc)[:300])
                await asyncio.sleep(0.5)
                continue
            for tp, records in batch.items():
                if tp in self._revoking:
                    continue  # not taken, so not committed: the next owner reads them
                partition = self._tracker.partition(tp)
                for record in records:
                    partition.take(record.offset)
                    task = asyncio.create_task(self._process(tp, partition, record))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    in_partition = self._partition_tasks.setdefault(tp, set())
                    in_partition.add(task)
                    task.add_done_callback(in_partition.discard)
                if partition.unfinished >= self._options.partition_window and tp not in self._paused:
                    self._consumer.pause(tp)
                    self._paused.add(tp)
                    metrics.PARTITION_PAUSES.inc()
            metrics.IN_FLIGHT.set(len(self._tasks))

    async def _process(
        self, tp: TopicPartition, partition: PartitionOffsets, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        failures = 0
        while True:
            try:
                await self._handler(record)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                # Retried here: left unfinished, the offset would hold back every later commit of the partition
                # until a restart or rebalance, and its tasks would all be delivered again.
                failures += 1
                log.exception(
                    "delivery task failed unexpectedly; retrying",
                    webhook_id=(record.key or b"").decode(errors="replace"),
                    partition=tp.partition,
                    offset=record.offset,
                    failures=failures,
                )
                if partition.revoked or self._stopping.is_set():
                    return  # not ours to finish any more: the next owner of the partition delivers it again
                await asyncio.sleep(min(MAX_RETRY_DELAY_SECONDS, 0.2 * 2**failures))
        partition.finish(record.offset)
        if (
            tp in self._paused
            and not partition.revoked
            and tp not in self._revoking
            and partition.unfinished <= self._options.partition_window // 2
            and not self._stopping.is_set()
        ):
            self._paused.discard(tp)
            if tp in self._consumer.assignment():
                self._consumer.resume(tp)

    async def hand_back(self, revoked: list[TopicPartition]) -> None:
        """On revocation: wait briefly for those partitions' tasks, commit what finished, cancel the rest.

        The rest are delivered again by the partitions' next owner, which gets them only once this returns: so
        their webhooks never have two senders at once, and their rate limits hold across the rebalance.
        """
        keys: list[object] = list(revoked)
        self._revoking.update(revoked)
        with contextlib.suppress(IllegalStateError):
            self._consumer.pause(*revoked)
        await self._drain([task for tp in revoked for task in self._partition_tasks.get(tp, ())], "revocation")
        await self.commit(keys)
        for tp in revoked:
            self._tracker.drop(tp)
            self._paused.discard(tp)
            self._partition_tasks.pop(tp, None)
        self._revoking.difference_update(revoked)
        if self._on_revoked is not None:
            await self._on_revoked(revoked)
        log.info("partitions revoked", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in revoked))

    async def commit(self, keys: list[object] | None = None) -> None:
        async with self._commit_lock:
            offsets = self._tracker.to_commit(keys)
            if not offsets:
                return
            try:
                await self._consumer.commit({tp: offset for tp, offset in offsets.items()})
            except (KafkaError, AssertionError) as exc:
                # Lost a partition in the meantime; its next owner redelivers from the last commit.
                log.warning("commit failed", error=str(exc)[:300])
                return
            self._tracker.mark_committed(offsets)

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._options.commit_interval_seconds)
            await self.commit()

    async def _drain(self, tasks: list[asyncio.Task[None]], occasion: str) -> None:
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self._options.drain_seconds)
        for task in pending:
            # Handed back: never committed, so the next owner delivers it again.
            task.cancel()
        if pending:
            log.warning("in-flight tasks handed back", at=occasion, count=len(pending))
            await asyncio.wait(pending, timeout=5)
