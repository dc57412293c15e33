"""Every webhook change is written to MongoDB, then published whole to the compacted endpoints topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import assertion_key, documents, kafka, topics, webhooks
from hookline.ids import new_id
from hookline.mongo import Document
from hookline.secret_box import SecretBox, generate_master_key
from tests.servers import Servers

pytestmark = pytest.mark.integration


async def endpoint_messages(servers: Servers, webhook_id: str, count: int) -> list[bytes | None]:
    """The values published for one webhook, read from the start of its partition."""
    # No group: the consumer takes every partition and, with "earliest", reads each from its start.
    consumer = AIOKafkaConsumer(
        topics.ENDPOINTS, bootstrap_servers=servers.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[bytes | None] = []
        async with asyncio.timeout(30):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                found += [m.value for msgs in batch.values() for m in msgs if m.key == webhook_id.encode()]
        return found
    finally:
        await consumer.stop()


async def test_a_status_change_bumps_the_version_and_reaches_the_endpoints_topic(
    servers: Servers, db: AsyncDatabase[Document]
) -> None:
    now = datetime.now(UTC)
    hook = webhooks.Webhook(
        id=new_id("wh"),
        organization_id=new_id("org"),
        url="https://example.com/h",
        events=["*"],
        created_at=now,
        updated_at=now,
    )
    await db[documents.WEBHOOKS].insert_one(webhooks.to_document(hook))
    producer = await kafka.start_producer(servers.kafka_bootstrap)
    try:
        await webhooks.publish_config(producer, hook)
        changed = await webhooks.set_status(db, producer, hook.id, "disabled", "endpoint answered 410 Gone")
        await webhooks.publish_tombstone(producer, hook.id)
        missing = await webhooks.set_status(db, producer, new_id("wh"), "disabled", "x")
    finally:
        await producer.stop()
    assert changed is not None and changed.version == 2 and changed.status == "disabled"
    assert missing is None
    first, second, tombstone = await endpoint_messages(servers, hook.id, 3)
    configs = [webhooks.decode_config(first), webhooks.decode_config(second)]
    assert [(c.version, c.status, c.status_reason) for c in configs if c] == [
        (1, "enabled", None),
        (2, "disabled", "endpoint answered 410 Gone"),
    ]
    assert webhooks.decode_config(tombstone) is None


async def test_the_assertion_key_is_made_once_and_stored_sealed(db: AsyncDatabase[Document]) -> None:
    # A database of its own: the key is sealed with this test's master key, not the session's.
    db = db.client.get_database(f"{db.name}_assertion")
    box = SecretBox(generate_master_key())
    keys = await asyncio.gather(*(assertion_key.load_or_create(db, box) for _ in range(5)))
    assert len({k.kid for k in keys}) == 1
    stored = await db[assertion_key.COLLECTION].find_one({"_id": assertion_key.KEY_ID})
    assert stored is not None and "PRIVATE KEY" not in str(stored)
    jwk = keys[0].public_jwk()
    assert (jwk["kty"], jwk["alg"], jwk["kid"]) == ("RSA", "RS256", keys[0].kid)
    assert "d" not in jwk
    await db.client.drop_database(db.name)
