"""Kafka: real messages over a real connection, and the topics Hookline creates."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hookline import kafka, topics
from tests.servers import Servers

pytestmark = pytest.mark.integration


async def test_a_message_goes_through_kafka_and_comes_back(servers: Servers) -> None:
    topic = f"test.roundtrip.{secrets.token_hex(4)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    producer = await kafka.start_producer(servers.kafka_bootstrap)
    try:
        await producer.send_and_wait(topic, b'{"hello": "kafka"}', key=b"wh_1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers.kafka_bootstrap,
        group_id=f"test-{secrets.token_hex(4)}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"wh_1", b'{"hello": "kafka"}')


async def test_every_hookline_topic_exists_with_its_partitions(servers: Servers) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([spec.name for spec in topics.TOPICS])
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topics.ENDPOINTS)])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == {spec.name: spec.partitions for spec in topics.TOPICS}
    assert partitions[topics.DELIVERIES] >= 12
    entries = {name: value for name, value, *_ in configs[0].resources[0][4]}
    assert entries["cleanup.policy"] == "compact"


async def test_creating_topics_again_changes_nothing(servers: Servers) -> None:
    assert await kafka.ensure_topics(servers.kafka_bootstrap) == []


def test_a_second_infra_up_finds_the_servers_running(servers: Servers) -> None:
    if servers.stack is None:
        pytest.skip("only the local stack is started by Hookline's own scripts")
    layout = servers.stack.layout
    before = {name: layout.pid_file(name).read_text() for name in ("kafka", "mongo")}
    servers.stack.up()
    after = {name: layout.pid_file(name).read_text() for name in ("kafka", "mongo")}
    assert before == after
    assert servers.stack.status() == {"kafka": True, "mongo": True}
