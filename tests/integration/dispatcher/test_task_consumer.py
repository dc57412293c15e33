"""The task consumer on its own: a handler that raises is retried, so its partition's commits never stall."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from hookline_dispatcher.options import DispatcherOptions
from hookline_dispatcher.task_consumer import TaskConsumer
from tests.integration.dispatcher.conftest import create_topics, wait_until
from tests.servers import Servers

pytestmark = pytest.mark.integration


async def test_a_task_whose_handler_raises_is_retried_and_the_partition_commits_past_it(
    servers: Servers, producer: AIOKafkaProducer
) -> None:
    topics = await create_topics(servers.kafka_bootstrap, partitions=1)
    options = replace(
        DispatcherOptions(), topics=topics, group_id=f"consumer-{secrets.token_hex(4)}", commit_interval_seconds=0.1
    )
    calls: dict[bytes, int] = {}

    async def handler(record: ConsumerRecord[bytes, bytes]) -> None:
        calls[record.value] = calls.get(record.value, 0) + 1
        if record.value == b"task-1" and calls[record.value] < 3:
            raise RuntimeError("MongoDB went away")  # what an unexpected failure looks like to the consumer

    for n in range(5):
        await producer.send_and_wait(topics.deliveries, f"task-{n}".encode(), partition=0)
    consumer = TaskConsumer(servers.kafka_bootstrap, options, handler)
    await consumer.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:

        async def committed_to_end() -> bool:
            offsets = await admin.list_consumer_group_offsets(options.group_id)
            position = offsets.get(TopicPartition(topics.deliveries, 0))
            return position is not None and position.offset == 5

        await wait_until(committed_to_end, timeout=60, what="the group to commit every task")
    finally:
        await admin.close()
        await consumer.stop()
    assert calls[b"task-1"] == 3
    assert all(calls[f"task-{n}".encode()] == 1 for n in (0, 2, 3, 4))
