"""The retry relay: holds each message on a retry tier until it is due, then re-queues it.

A message on tier T is due at min(`not_before`, its timestamp + T). Messages of one partition are released in
order: when the head is not yet due, the partition is paused (and rewound to the head) until that moment, so
nothing sleeps in a consumer and nothing polls MongoDB. A released message whose `not_before` is still ahead
hops to the largest tier that fits what is left; otherwise it goes back to the deliveries topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from hookline.batch_commits import partition_lags
from hookline.messages import DeliveryTask
from hookline.retry_schedule import RETRY_TIERS, tier_for, tier_topic_suffix
from hookline_dispatcher.options import DispatcherOptions

log = structlog.get_logger(__name__)

# Released this close to `not_before`, a message goes straight to the deliveries topic.
DUE_TOLERANCE_SECONDS = 0.05


def due_at(record_timestamp_ms: int, tier: int, not_before: float) -> float:
    return min(not_before, record_timestamp_ms / 1000 + tier)


def next_topic(options: DispatcherOptions, not_before: float, now: float) -> str:
    """Where a released message goes: the deliveries topic when due, else the tier that fits what is left."""
    remaining = not_before - now
    if remaining <= DUE_TOLERANCE_SECONDS:
        return options.topics.deliveries
    return options.topics.retry(tier_for(remaining))


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, timers: dict[TopicPartition, asyncio.TimerHandle]) -> None:
        self._timers = timers

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            timer = self._timers.pop(tp, None)
            if timer is not None:
                timer.cancel()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("retry tiers assigned", partitions=len(assigned))


class RetryRelay:
    def __init__(self, bootstrap: str, options: DispatcherOptions, producer: AIOKafkaProducer) -> None:
        self._options = options
        self._producer = producer
        self._tiers = {options.topics.retry(tier): tier for tier in RETRY_TIERS}
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=options.relay_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=1000,
        )
        self._timers: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer.subscribe(list(self._tiers), listener=_Assignments(self._timers))
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="retry-relay")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        for timer in self._timers.values():
            timer.cancel()
        await self._consumer.stop()

    async def backlog(self) -> dict[str, int]:
        """Messages not yet released per tier suffix, over the partitions this relay owns."""
        result = {tier_topic_suffix(tier): 0 for tier in RETRY_TIERS}
        # Held partitions are paused, so only the broker knows how much arrived behind the held message.
        for tp, lag in await partition_lags(self._consumer):
            result[tier_topic_suffix(self._tiers[tp.topic])] += lag
        return result

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = await self._consumer.getmany(timeout_ms=200)
            except KafkaError as exc:
                log.warning("retry relay fetch failed; retrying", error=str(exc)[:300])
                await asyncio.sleep(0.5)
                continue
            if not batch:
                continue
            try:
                await self._release(batch)
            except (KafkaError, OSError) as exc:
                # Read again from the start of the batch: a duplicate is harmless, a skipped message is lost.
                log.warning("retry relay could not re-queue; reading the batch again", error=str(exc)[:300])
                for tp, records in batch.items():
                    with contextlib.suppress(KafkaError, AssertionError):
                        self._consumer.seek(tp, records[0].offset)
                await asyncio.sleep(0.5)

    async def _release(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        sends: list[asyncio.Future[object]] = []
        commits: dict[TopicPartition, int] = {}
        now = time.time()
        for tp, records in batch.items():
            tier = self._tiers[tp.topic]
            for record in records:
                try:
                    task = msgspec.json.decode(record.value, type=DeliveryTask)
                except msgspec.DecodeError:
                    log.error("undecodable message on a retry tier sent to the deliveries topic", topic=tp.topic)
                    fallback = self._options.topics.deliveries
                    sends.append(await self._producer.send(fallback, record.value, key=record.key))
                    commits[tp] = record.offset + 1
                    continue
                due = due_at(record.timestamp, tier, task.not_before)
                if due > now + DUE_TOLERANCE_SECONDS:
                    self._hold(tp, record.offset, due - now)
                    break
                topic = next_topic(self._options, task.not_before, now)
                sends.append(await self._producer.send(topic, record.value, key=record.key))
                commits[tp] = record.offset + 1
        if sends:
            await asyncio.gather(*sends)
        if commits:
            try:
                await self._consumer.commit(commits)
            except (KafkaError, AssertionError) as exc:
                log.warning("retry relay commit failed", error=str(exc)[:300])

    def _hold(self, tp: TopicPartition, offset: int, seconds: float) -> None:
        try:
            self._consumer.seek(tp, offset)
            self._consumer.pause(tp)
        except (KafkaError, AssertionError):
            return  # no longer ours: its next owner reads it from the last commit
        previous = self._timers.pop(tp, None)
        if previous is not None:
            previous.cancel()
        self._timers[tp] = asyncio.get_running_loop().call_later(seconds, self._resume, tp)

    def _resume(self, tp: TopicPartition) -> None:
        self._timers.pop(tp, None)
        if tp in self._consumer.assignment():
            self._consumer.resume(tp)
