"""Follows the compacted `hookline.endpoints` from the beginning into a dict of webhook id -> latest config."""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hookline import kafka, topics
from hookline.messages import WebhookConfig
from hookline.webhooks import decode_config

log = structlog.get_logger(__name__)


class ConfigFollower:
    """The highest `version` of each webhook wins; a tombstone deletes it."""

    def __init__(self, bootstrap: str, *, topic: str = topics.ENDPOINTS) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self.configs: dict[str, WebhookConfig] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Condition()

    def get(self, webhook_id: str) -> WebhookConfig | None:
        return self.configs.get(webhook_id)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        webhook_id = key.decode()
        try:
            config = decode_config(value)
        except msgspec.DecodeError:
            log.warning("undecodable webhook config skipped", webhook_id=webhook_id)
            return
        if config is None:
            self.configs.pop(webhook_id, None)
            return
        current = self.configs.get(webhook_id)
        if current is None or config.version >= current.version:
            self.configs[webhook_id] = config

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=kafka.FOLLOWER_FETCH_MAX_WAIT_MS,
        )
        await consumer.start()
        self._consumer = consumer
        self._partitions = [TopicPartition(self._topic, p) for p in await self._partition_ids()]
        consumer.assign(self._partitions)
        await consumer.seek_to_beginning(*self._partitions)
        self._task = asyncio.create_task(self._run(), name="config-follower")

    async def _partition_ids(self) -> list[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([self._topic])
        finally:
            await admin.close()
        ids = sorted(int(p["partition"]) for p in described["partitions"])
        if not ids:
            raise RuntimeError(f"topic {self._topic} has no partitions; run `hookline infra up` to create topics")
        return ids

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500, max_records=2000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading webhook configs failed; retrying", error=str(exc)[:300])
                await asyncio.sleep(1)
                continue
            for records in batch.values():
                for record in records:
                    self.apply(record.key, record.value)
            async with self._progress:
                self._progress.notify_all()

    async def catch_up(self, timeout: float) -> bool:
        """Waits until everything on the topic now has been applied; False when `timeout` ran out first."""
        assert self._consumer is not None
        deadline = time.monotonic() + timeout
        ends = await self._consumer.end_offsets(self._partitions)
        while True:
            positions = {tp: await self._consumer.position(tp) for tp in self._partitions}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.5)), self._progress:
                    await self._progress.wait()
