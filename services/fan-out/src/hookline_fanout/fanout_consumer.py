"""The Kafka entrypoint: consumes `hookline.events`, produces one delivery task per matching webhook, and
commits a batch's offsets only after every task of it is acknowledged."""

from __future__ import annotations

import asyncio
import time

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from hookline import kafka, topics
from hookline.batch_commits import Batch, OffsetCommitter, commit_or_rewind, partition_lags
from hookline.messages import EventEnvelope
from hookline_fanout.delivery_tasks import tasks_for
from hookline_fanout.endpoints_follower import EndpointsFollower
from hookline_fanout.metrics import FanoutMetrics
from hookline_fanout.partitioned_sender import PartitionedSender

log = structlog.get_logger(__name__)

GROUP_ID = "hookline-fanout"
MAX_PENDING_TASKS = 20_000
_decoder = msgspec.json.Decoder(EventEnvelope)


class FanoutConsumer:
    def __init__(
        self,
        *,
        bootstrap: str,
        follower: EndpointsFollower,
        producer: AIOKafkaProducer,
        metrics: FanoutMetrics,
        group_id: str = GROUP_ID,
        max_records: int = 500,
    ) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max_records,
            fetch_max_wait_ms=kafka.FETCH_MAX_WAIT_MS,
        )
        self._topics = [topics.EVENTS]
        self._committer = OffsetCommitter(self.consumer)
        self._follower = follower
        self._sender = PartitionedSender(producer, topics.DELIVERIES)
        self._metrics = metrics
        self._max_records = max_records
        self._failures = 0
        self._lag_reported_at = 0.0
        # Tasks acknowledged by this instance since it started.
        self.produced = 0

    async def start(self) -> None:
        self._committer.subscribe(self._topics)
        await self.consumer.start()

    async def stop(self) -> None:
        await self._committer.close()
        await self.consumer.stop()

    async def run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=self._max_records)
            if batch:
                await self._process_or_rewind(batch)
            await self._report_lag()

    async def _process_or_rewind(self, batch: Batch) -> None:
        self._failures = await commit_or_rewind(
            self._committer, batch, self._catch_up_and_process, failures=self._failures, what="fan-out batch"
        )

    async def _catch_up_and_process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        # Configs published before these events were fetched are applied before they are matched.
        await self._follower.catch_up()
        await self.process(records)

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> int:
        """Produces every task of these events and waits for every acknowledgement; returns the task count."""
        pending: list[tuple[bytes, bytes]] = []
        produced = 0
        index = self._follower.index
        for record in records:
            try:
                event = _decoder.decode(record.value or b"")
            except msgspec.DecodeError:
                # Only event-ingest writes this topic; an unreadable message is a bug to see, not to retry.
                self._metrics.unreadable.inc()
                log.error("unreadable event skipped", partition=record.partition, offset=record.offset)
                continue
            webhooks = index.matching(event)
            self._metrics.width.observe(len(webhooks))
            pending.extend(tasks_for(event, webhooks))
            if len(pending) >= MAX_PENDING_TASKS:
                # Bounded memory for batches of wide events: these are acknowledged before more are built.
                produced += await self._produce(pending)
                pending = []
        produced += await self._produce(pending)
        self._metrics.events.inc(len(records))
        return produced

    async def _produce(self, tasks: list[tuple[bytes, bytes]]) -> int:
        if tasks:
            await asyncio.gather(*await self._sender.send_all(tasks))
            self._metrics.tasks.inc(len(tasks))
            self.produced += len(tasks)
        return len(tasks)

    async def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_reported_at < 1.0:
            return
        self._lag_reported_at = now
        self._metrics.webhooks.set(len(self._follower.index))
        for tp, lag in await partition_lags(self.consumer):
            self._metrics.consumer_lag.labels(str(tp.partition)).set(lag)
