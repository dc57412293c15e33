"""Producer messages on Kafka: accepted ones reach the matching webhooks, refused ones the invalid topic."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from hookline import documents, topics
from hookline.messages import IngestRejected
from tests.integration.ingest.pipeline import (
    Pipeline,
    add_event_type,
    add_webhook,
    events_of,
    new_org,
    targets,
)

pytestmark = pytest.mark.integration


def producer_event(org: str, event_type: str, data: object, **fields: object) -> bytes:
    return msgspec.json.encode({"type": event_type, "organization_id": org, "data": data, **fields})


async def test_an_event_on_the_ingest_topic_reaches_exactly_the_matching_webhooks(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    await add_event_type(pipe.db, org, "member.role.changed")
    deep_prefix = await add_webhook(pipe.db, pipe.producer, org, ["member.role.*"])
    shallow_prefix = await add_webhook(pipe.db, pipe.producer, org, ["member.*"])
    await add_webhook(pipe.db, pipe.producer, org, ["member.role"])
    await add_webhook(pipe.db, pipe.producer, org, ["memberx.*"])
    session = await add_webhook(pipe.db, pipe.producer, org, ["*"], session_id="s-9")
    await add_webhook(pipe.db, pipe.producer, org, ["*"], session_id="s-other")
    mark = await pipe.mark()
    events_mark = await pipe.mark(topics.EVENTS)

    await pipe.producer.send_and_wait(
        topics.INGEST, producer_event(org, "member.role.changed", {"a": 1}, session_id="s-9"), key=org.encode()
    )

    tasks = await pipe.deliveries_since(mark, org)
    [event] = events_of(org, await events_mark.read())
    assert targets(tasks, event.id) == {deep_prefix.id, shallow_prefix.id, session.id}
    assert len(tasks) == 3
    assert (event.type, event.session_id, event.data) == ("member.role.changed", "s-9", {"a": 1})
    assert await pipe.db[documents.EVENTS].count_documents({"organization_id": org}) == 1


async def test_an_extra_source_topic_is_consumed_too(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    hook = await add_webhook(pipe.db, pipe.producer, org, ["webhook.test"])
    mark = await pipe.mark()

    await pipe.producer.send_and_wait(pipe.extra_topic, producer_event(org, "webhook.test", {}), key=org.encode())

    tasks = await pipe.deliveries_since(mark, org)
    assert [t.webhook_id for t in tasks] == [hook.id]


async def test_refused_messages_land_on_the_invalid_topic_with_reason_and_origin(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    await add_event_type(pipe.db, org, "shape.checked", {"type": "object", "required": ["x"]})
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    invalid_mark = await pipe.mark(topics.INGEST_INVALID)
    mark = await pipe.mark()
    bad = {
        "invalid_json": b"{this is not json",
        "invalid_envelope": msgspec.json.encode({"organization_id": org, "data": {}}),
        "unknown_type": producer_event(org, "not.a.type", {}),
        "schema_mismatch": producer_event(org, "shape.checked", {"y": 1}),
        "too_large": producer_event(org, "shape.checked", {"x": "y" * (256 * 1024)}),
        "unknown_organization": producer_event("org_doesnotexist", "webhook.test", {}),
    }
    sent = {}
    for reason, value in bad.items():
        sent[reason] = await pipe.producer.send_and_wait(topics.INGEST, value, key=org.encode())
    # A poison message does not stop the consumer: the good one after them goes through.
    await pipe.producer.send_and_wait(topics.INGEST, producer_event(org, "shape.checked", {"x": 1}), key=org.encode())

    tasks = await pipe.deliveries_since(mark, org)
    rejected = [msgspec.json.decode(v, type=IngestRejected) for _, v in await invalid_mark.read()]
    by_reason = {r.reason: r for r in rejected if r.key == org.encode()}
    assert set(by_reason) == set(bad)
    for reason, record in by_reason.items():
        assert record.original == bad[reason]
        assert record.source_topic == topics.INGEST
        assert (record.source_partition, record.source_offset) == (sent[reason].partition, sent[reason].offset)
        assert record.message
    assert [t.webhook_id for t in tasks] == [hook.id]
    assert tasks[0].event.data == {"x": 1}


async def test_a_message_redelivered_after_a_crash_keeps_its_event_id(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    events_mark = await pipe.mark(topics.EVENTS)
    mark = await pipe.mark()
    sent = await pipe.producer.send_and_wait(topics.INGEST, producer_event(org, "webhook.test", {}), key=org.encode())
    await pipe.settle()
    record = await read_one(pipe, sent.partition, sent.offset)

    # What a new owner of the partition does when the first crashed before committing: process it again.
    await pipe.ingest.state.consumer.process([record])

    tasks = await pipe.deliveries_since(mark, org)
    events = events_of(org, await events_mark.read())
    assert len(events) == 2 and events[0].id == events[1].id
    assert await pipe.db[documents.EVENTS].count_documents({"organization_id": org}) == 1
    assert {(t.webhook_id, t.delivery_id) for t in tasks} == {(hook.id, tasks[0].delivery_id)}


async def read_one(pipe: Pipeline, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=pipe.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topics.INGEST, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        record: ConsumerRecord[bytes, bytes] = await asyncio.wait_for(consumer.getone(), 30)
        return record
    finally:
        await consumer.stop()


async def test_events_that_cannot_be_checked_or_stored_are_dead_lettered_and_the_rest_flow(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    await add_event_type(pipe.db, org, "broken.schema", {"type": 5})
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    invalid_mark = await pipe.mark(topics.INGEST_INVALID)
    mark = await pipe.mark()
    unstorable = b'{"type": "webhook.test", "organization_id": "%s", "data": {"n": %d}}' % (org.encode(), 2**70)

    await pipe.producer.send_and_wait(topics.INGEST, producer_event(org, "broken.schema", {}), key=org.encode())
    await pipe.producer.send_and_wait(topics.INGEST, unstorable, key=org.encode())
    await pipe.producer.send_and_wait(topics.INGEST, producer_event(org, "webhook.test", {"ok": 1}), key=org.encode())

    tasks = await pipe.deliveries_since(mark, org)
    rejected = [msgspec.json.decode(v, type=IngestRejected) for _, v in await invalid_mark.read()]
    mine = [r for r in rejected if r.key == org.encode()]
    assert [r.reason for r in mine] == ["unprocessable", "unprocessable"]
    assert mine[1].original == unstorable
    assert [(t.webhook_id, t.event.data) for t in tasks] == [(hook.id, {"ok": 1})]
