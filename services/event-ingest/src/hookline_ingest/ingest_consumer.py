"""The Kafka entrypoint: consumes `hookline.ingest` (and extra topics), accepts or dead-letters each message,
and commits a batch's offsets only once every event in it is published or dead-lettered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from hookline import ids, kafka, topics
from hookline.batch_commits import Batch, OffsetCommitter, commit_or_rewind, partition_lags
from hookline.messages import IngestRejected, ProducerEvent
from hookline_ingest.acceptance import Accepted, EventAcceptor, Stamp
from hookline_ingest.errors import InvalidEvent
from hookline_ingest.metrics import IngestMetrics
from hookline_ingest.submission import parse_producer_event

log = structlog.get_logger(__name__)

GROUP_ID = "hookline-ingest"
SOURCE = "kafka"


def source_topics(extra: str) -> list[str]:
    """`hookline.ingest` plus the comma-separated `HOOKLINE_INGEST_EXTRA_TOPICS`."""
    names = [topics.INGEST, *(t.strip() for t in extra.split(","))]
    return list(dict.fromkeys(n for n in names if n))


def stamp_of(record: ConsumerRecord[bytes, bytes]) -> Stamp:
    """The same id for the same message however often it is redelivered."""
    at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return Stamp(ids.derived_id("evt", at=at, seed=f"{record.topic}:{record.partition}:{record.offset}"), at)


class IngestConsumer:
    def __init__(
        self,
        *,
        bootstrap: str,
        source: Sequence[str],
        acceptor: EventAcceptor,
        producer: AIOKafkaProducer,
        metrics: IngestMetrics,
        max_event_bytes: int,
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
        self._topics = list(source)
        self._committer = OffsetCommitter(self.consumer)
        self._acceptor = acceptor
        self._producer = producer
        self._metrics = metrics
        self._max_bytes = max_event_bytes
        self._max_records = max_records
        self._failures = 0
        self._lag_reported_at = 0.0

    async def start(self) -> None:
        self._committer.subscribe(self._topics)
        await self.consumer.start()

    async def stop(self) -> None:
        await self._committer.close()
        await self.consumer.stop()

    async def run(self) -> None:
        """Consumes until cancelled. A failing batch is retried from its first offset, with backoff."""
        while True:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=self._max_records)
            if batch:
                await self._process_or_rewind(batch)
            await self._report_lag()

    async def _process_or_rewind(self, batch: Batch) -> None:
        self._failures = await commit_or_rewind(
            self._committer, batch, self.process, failures=self._failures, what="ingest batch"
        )

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Accepts or dead-letters every record; returns once each outcome is durable."""
        rejected: list[tuple[ConsumerRecord[bytes, bytes], InvalidEvent]] = []
        events: list[tuple[ConsumerRecord[bytes, bytes], ProducerEvent]] = []
        for record in records:
            try:
                events.append((record, parse_producer_event(record.value or b"", self._max_bytes)))
            except InvalidEvent as problem:
                rejected.append((record, problem))
        outcomes = await self._acceptor.accept([e for _, e in events], [stamp_of(r) for r, _ in events])
        for (record, _), outcome in zip(events, outcomes, strict=True):
            if isinstance(outcome, InvalidEvent):
                rejected.append((record, outcome))
            elif isinstance(outcome, Accepted):
                (self._metrics.deduplicated if outcome.duplicate else self._metrics.accepted).labels(SOURCE).inc()
        await self._dead_letter(rejected)

    async def _dead_letter(self, rejected: list[tuple[ConsumerRecord[bytes, bytes], InvalidEvent]]) -> None:
        now = datetime.now(UTC)
        futures = []
        for record, problem in rejected:
            message = IngestRejected(
                reason=problem.reason,
                message=problem.message,
                source_topic=record.topic,
                source_partition=record.partition,
                source_offset=record.offset,
                original=record.value or b"",
                key=record.key,
                rejected_at=now,
            )
            value = msgspec.json.encode(message)
            futures.append(await self._producer.send(topics.INGEST_INVALID, value, key=record.key))
            self._metrics.rejected.labels(SOURCE, problem.reason).inc()
            log.info(
                "event refused",
                reason=problem.reason,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
        if futures:
            await asyncio.gather(*futures)

    async def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_reported_at < 1.0:
            return
        self._lag_reported_at = now
        for tp, lag in await partition_lags(self.consumer):
            self._metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
