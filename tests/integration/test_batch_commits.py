"""Batches committed in the background: after success only, at once on close and before a rebalance hands the
partitions on; a failed batch is read again."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hookline import kafka
from hookline.batch_commits import Batch, OffsetCommitter, Record, commit_or_rewind
from tests.servers import Servers

pytestmark = pytest.mark.integration


async def new_topic(servers: Servers, partitions: int, messages: int) -> str:
    topic = f"test.commits.{secrets.token_hex(4)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    producer = await kafka.start_producer(servers.kafka_bootstrap)
    try:
        for n in range(messages):
            await producer.send(topic, str(n).encode(), partition=n % partitions)
        await producer.flush()
    finally:
        await producer.stop()
    return topic


def group_consumer(servers: Servers, group: str, max_records: int) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=servers.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
    )


async def next_batch(consumer: AIOKafkaConsumer) -> Batch:
    async with asyncio.timeout(30):
        while True:
            batch: Batch = await consumer.getmany(timeout_ms=200)
            if batch:
                return batch


async def committed(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    offset: int | None = await consumer.committed(tp)
    return offset


async def ignore(records: list[Record]) -> None:
    """A batch handler with nothing to do."""


async def wait_committed(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
    async with asyncio.timeout(10):
        while await committed(consumer, tp) != offset:
            await asyncio.sleep(0.05)


@pytest.fixture
async def one_partition(servers: Servers) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition]]:
    topic = await new_topic(servers, 1, 10)
    consumer = group_consumer(servers, f"test-{secrets.token_hex(4)}", max_records=5)
    consumer.subscribe([topic])
    await consumer.start()
    try:
        yield consumer, TopicPartition(topic, 0)
    finally:
        await consumer.stop()


async def test_a_handled_batch_is_committed_and_a_failed_one_read_again(
    one_partition: tuple[AIOKafkaConsumer, TopicPartition],
) -> None:
    consumer, tp = one_partition
    committer = OffsetCommitter(consumer, interval=0.05)

    async def fail(records: list[Record]) -> None:
        raise RuntimeError("the database is away")

    first = await next_batch(consumer)
    assert await commit_or_rewind(committer, first, fail, failures=0, what="test batch") == 1
    assert await committed(consumer, tp) is None
    again = await next_batch(consumer)
    assert [r.offset for r in again[tp]] == [r.offset for r in first[tp]]

    handled: list[int] = []

    async def handle(records: list[Record]) -> None:
        handled.extend(r.offset for r in records)

    assert await commit_or_rewind(committer, again, handle, failures=1, what="test batch") == 0
    await wait_committed(consumer, tp, again[tp][-1].offset + 1)
    assert handled == [0, 1, 2, 3, 4]
    await committer.close()


async def test_close_commits_what_finished_without_waiting_for_the_interval(
    one_partition: tuple[AIOKafkaConsumer, TopicPartition],
) -> None:
    consumer, tp = one_partition
    committer = OffsetCommitter(consumer, interval=3600)

    await commit_or_rewind(committer, await next_batch(consumer), ignore, failures=0, what="test batch")
    await wait_committed(consumer, tp, 5)
    # The first batch went out at once; the next waits for the interval (an hour), or for close().
    await commit_or_rewind(committer, await next_batch(consumer), ignore, failures=0, what="test batch")
    assert await committed(consumer, tp) == 5
    await committer.close()
    assert await committed(consumer, tp) == 10


async def test_a_rebalance_commits_finished_batches_before_the_partitions_move(servers: Servers) -> None:
    topic = await new_topic(servers, 2, 20)
    group = f"test-{secrets.token_hex(4)}"
    first = group_consumer(servers, group, max_records=4)
    committer = OffsetCommitter(first, interval=3600)
    committer.subscribe([topic])
    await first.start()
    second = group_consumer(servers, group, max_records=100)
    try:
        # Two batches: the first is committed at once, the second only waits (the interval is an hour).
        batch = await next_batch(first)
        await commit_or_rewind(committer, batch, ignore, failures=0, what="test batch")
        finished = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        for tp, offset in finished.items():
            await wait_committed(first, tp, offset)
        batch = await next_batch(first)
        await commit_or_rewind(committer, batch, ignore, failures=0, what="test batch")
        finished |= {tp: records[-1].offset + 1 for tp, records in batch.items()}
        assert [await committed(first, tp) for tp in batch] != [finished[tp] for tp in batch]
        second.subscribe([topic])
        await second.start()
        parts = [TopicPartition(topic, p) for p in range(2)]

        # The second member is assigned partitions only once the first has given its own up (and committed).
        async with asyncio.timeout(60):
            while not second.assignment():
                await first.getmany(timeout_ms=100)
        # Both finished batches were committed when the first member gave its partitions up.
        for tp in parts:
            assert await committed(second, tp) == finished.get(tp)
    finally:
        await committer.close()
        await first.stop()
        await second.stop()
