"""Sends many keyed messages to one topic as one record batch per partition, not one future per message.

A 10,000-webhook fan-out is 10,000 messages; aiokafka's per-message `send` (a future each, and a pure-Python
murmur2 hash of the key each time) dominates the cost, so messages are appended straight into record
batches, and each key's partition is computed once with the producer's own partitioner (the same murmur2 as
every other Hookline producer and the Java client, so a webhook's tasks and retries share a partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

MAX_CACHED_KEYS = 1_000_000


class PartitionedSender:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._partitioner = DefaultPartitioner()
        self._partitions: list[int] = []
        self._by_key: dict[bytes, int] = {}

    async def send_all(self, messages: Iterable[tuple[bytes, bytes]]) -> list[asyncio.Future[Any]]:
        """Queues every (key, value); returns futures that resolve once the broker acknowledged them."""
        partitions = sorted(await self._producer.partitions_for(self._topic))
        if partitions != self._partitions:
            self._partitions, self._by_key = partitions, {}
        if len(self._by_key) > MAX_CACHED_KEYS:
            self._by_key = {}
        open_batches: dict[int, Any] = {}
        futures: list[asyncio.Future[Any]] = []
        for key, value in messages:
            partition = self._by_key.get(key)
            if partition is None:
                partition = self._by_key[key] = self._partitioner(key, partitions, partitions)
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is not None:
                continue
            # Full: send it and start another; a message bigger than a whole batch goes on its own.
            del open_batches[partition]
            if batch.record_count():
                futures.append(await self._producer.send_batch(batch, self._topic, partition=partition))
            batch = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is not None:
                open_batches[partition] = batch
            else:
                futures.append(await self._producer.send(self._topic, value, key=key, partition=partition))
        for partition, batch in open_batches.items():
            futures.append(await self._producer.send_batch(batch, self._topic, partition=partition))
        return futures
