"""Reading what a dispatcher produced (dead letters) back from Kafka in tests."""

from __future__ import annotations

import asyncio
import time

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hookline.messages import DeliveryDead


async def read_dead(bootstrap: str, topic: str, delivery_ids: set[str], timeout: float = 30.0) -> list[DeliveryDead]:
    """Waits until a dead letter for each of `delivery_ids` is on `topic`; returns those dead letters."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[DeliveryDead] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while {d.task.delivery_id for d in found} < delivery_ids:
            if time.monotonic() > deadline:
                raise AssertionError(f"dead letters missing for {delivery_ids - {d.task.delivery_id for d in found}}")
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    dead = msgspec.json.decode(record.value, type=DeliveryDead)
                    if dead.task.delivery_id in delivery_ids:
                        found.append(dead)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return found
