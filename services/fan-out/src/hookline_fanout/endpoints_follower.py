"""Follows the compacted `hookline.endpoints` topic into the webhook index, from its beginning.

`catch_up()` returns once every config published before the call has been applied: it asks the broker for
the topic's end offsets and waits until this follower's positions reach them. The fan-out calls it before
each batch of events, so an event published after a webhook change is matched against the changed webhook.
"""

from __future__ import annotations

import asyncio

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hookline import kafka, topics
from hookline.webhooks import decode_config
from hookline_fanout.webhook_index import WebhookIndex

log = structlog.get_logger(__name__)


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [int(p["partition"]) for t in described if t["topic"] == topic for p in t["partitions"]]
    if not partitions:
        raise RuntimeError(f"topic {topic} does not exist; `hookline infra up` creates it")
    return partitions


class EndpointsFollower:
    def __init__(self, bootstrap: str, index: WebhookIndex, *, topic: str = topics.ENDPOINTS) -> None:
        self.index = index
        self._bootstrap = bootstrap
        self._topic = topic
        # No group: every instance reads every partition, always from the beginning.
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
            fetch_max_wait_ms=kafka.FOLLOWER_FETCH_MAX_WAIT_MS,
        )
        # End offsets are asked on a connection of their own: on the follower's, the request would queue behind
        # its long-polling fetch (the broker answers a connection's requests in order).
        self._offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        self._partitions: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def start(self) -> None:
        """Starts following and returns once the whole topic, as of now, is in the index."""
        await self._consumer.start()
        await self._offsets.start()
        partitions = await partitions_of(self._bootstrap, self._topic)
        self._partitions = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)
        self._task = asyncio.create_task(self._follow())
        # A replay of millions of webhooks takes a while; per batch of events, catching up takes moments.
        await self.catch_up(timeout=600.0)
        log.info("webhook index built", webhooks=len(self.index), messages=self.applied)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()
        await self._offsets.stop()

    async def catch_up(self, timeout: float = 60.0) -> None:
        """Waits until everything published to the topic before this call has been applied."""
        targets = await self._offsets.end_offsets(self._partitions)
        async with asyncio.timeout(timeout), self._advanced:
            await self._advanced.wait_for(lambda: self._reached(targets))

    def _reached(self, targets: dict[TopicPartition, int]) -> bool:
        if self._task is not None and self._task.done():
            raise RuntimeError("the endpoints follower stopped")
        return all(self._positions.get(tp, 0) >= end for tp, end in targets.items())

    async def _follow(self) -> None:
        while True:
            try:
                await self._follow_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Waiters keep waiting (the fan-out holds its events) until following works again.
                log.error("following hookline.endpoints failed; retrying", error_type=type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _follow_once(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for record in records:
                    self._apply(record.key, record.value)
            positions = {tp: await self._consumer.position(tp) for tp in self._partitions}
            async with self._advanced:
                self._positions = positions
                self._advanced.notify_all()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        webhook_id = key.decode(errors="replace")
        try:
            config = decode_config(value)
        except msgspec.DecodeError as exc:
            # A config this version cannot read is skipped (and said once), not a reason to stop matching.
            log.error("unreadable webhook config skipped", webhook_id=webhook_id, error=str(exc)[:200])
            return
        self.index.apply(webhook_id, config)
        self.applied += 1
