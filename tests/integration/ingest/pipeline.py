"""Test support for the event pipeline: ingest and fan-out running in-process on the real servers, the
records they read (organizations, keys, types, webhooks), and readers of the topics they write."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from litestar import Litestar
from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, documents, ids, mongo, topics, webhooks
from hookline.documents import ApiKey, Organization
from hookline.messages import DeliveryTask, EventEnvelope
from hookline.mongo import Document
from hookline.settings import Settings
from hookline.webhooks import Webhook
from hookline_fanout.app import create_app as create_fanout
from hookline_fanout.endpoints_follower import partitions_of
from hookline_ingest.app import create_app as create_ingest
from tests.servers import TEST_MASTER_KEY, Servers

MASTER_KEY = TEST_MASTER_KEY
DEADLINE = 60.0


def settings_for(servers: Servers, **overrides: Any) -> Settings:
    return Settings(
        kafka_bootstrap=servers.kafka_bootstrap, mongo_url=servers.mongo_url, master_key=MASTER_KEY, **overrides
    )


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[Litestar]:
    """The app with its lifespan entered, in this event loop: what uvicorn does, without a socket.

    The lifespan runs in a task of its own, as under uvicorn: it is entered and left in the same task even when
    a fixture's setup and teardown run in different ones.
    """
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with app.lifespan():
                started.set_result(None)
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    task = asyncio.create_task(serve())
    await started
    try:
        yield app
    finally:
        stop.set()
        await task


def http_client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test")  # type: ignore[arg-type]


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# --- records -------------------------------------------------------------------------------------------------


async def new_org(db: AsyncDatabase[Document]) -> str:
    org = Organization(id=ids.new_id("org"), name="test", created_at=datetime.now(UTC))
    await db[documents.ORGANIZATIONS].insert_one(mongo.to_document(org))
    return org.id


async def new_api_key(db: AsyncDatabase[Document], org_id: str, scopes: Iterable[str] = ("events.publish",)) -> str:
    key = api_keys.generate_api_key()
    record = ApiKey(
        id=ids.new_id("key"),
        organization_id=org_id,
        scopes=list(scopes),
        hash=api_keys.hash_api_key(key),
        prefix=api_keys.display_prefix(key),
        created_at=datetime.now(UTC),
    )
    await db[documents.API_KEYS].insert_one(mongo.to_document(record))
    return key


async def add_event_type(
    db: AsyncDatabase[Document], org_id: str, name: str, schema: dict[str, Any] | None = None
) -> None:
    await db[documents.EVENT_TYPES].insert_one(
        {
            "_id": ids.new_id("et"),
            "organization_id": org_id,
            "name": name,
            "description": "",
            "schema": schema,
            "created_at": datetime.now(UTC),
        }
    )


async def add_webhook(
    db: AsyncDatabase[Document], producer: AIOKafkaProducer, org_id: str, events: list[str], **fields: Any
) -> Webhook:
    """What the API does: the document first, then its config on `hookline.endpoints`."""
    now = datetime.now(UTC)
    webhook = Webhook(
        id=ids.new_id("wh"),
        organization_id=org_id,
        url="https://receiver.example/hook",
        events=events,
        created_at=now,
        updated_at=now,
        **fields,
    )
    await db[documents.WEBHOOKS].insert_one(webhooks.to_document(webhook))
    await webhooks.publish_config(producer, webhook)
    return webhook


async def delete_webhook(db: AsyncDatabase[Document], producer: AIOKafkaProducer, webhook_id: str) -> None:
    await db[documents.WEBHOOKS].delete_one({"_id": webhook_id})
    await webhooks.publish_tombstone(producer, webhook_id)


# --- topics --------------------------------------------------------------------------------------------------


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


@dataclass
class TopicMark:
    """A topic's end offsets at one moment: what a test reads from, so it sees only its own messages."""

    bootstrap: str
    topic: str
    start: dict[TopicPartition, int]

    @classmethod
    async def now(cls, bootstrap: str, topic: str) -> TopicMark:
        return cls(bootstrap, topic, await end_offsets(bootstrap, topic))

    async def read(self) -> list[tuple[bytes | None, bytes]]:
        """Every (key, value) written since the mark, up to the end offsets of now."""
        ends = await end_offsets(self.bootstrap, self.topic)
        wanted = {tp: end for tp, end in ends.items() if end > self.start.get(tp, 0)}
        if not wanted:
            return []
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        found: list[tuple[bytes | None, bytes]] = []
        try:
            consumer.assign(list(wanted))
            for tp in wanted:
                consumer.seek(tp, self.start.get(tp, 0))
            done: set[TopicPartition] = set()
            deadline = time.monotonic() + DEADLINE
            while len(done) < len(wanted):
                assert time.monotonic() < deadline, f"could not read {self.topic} to its end"
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset < wanted[tp]:
                            found.append((record.key, record.value))
                for tp, end in wanted.items():
                    if await consumer.position(tp) >= end:
                        done.add(tp)
        finally:
            await consumer.stop()
        return found


async def settled(bootstrap: str, group: str, topic: str) -> bool:
    """True when the group has committed every message of the topic (so its outputs are acknowledged)."""
    ends = await end_offsets(bootstrap, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items())


async def settle(bootstrap: str, ingest_topics: Iterable[str] = (topics.INGEST,)) -> None:
    """Waits until ingest has handled every producer message and fan-out every event."""

    def done(group: str, topic: str) -> Callable[[], Awaitable[bool]]:
        return lambda: settled(bootstrap, group, topic)

    for topic in ingest_topics:
        await wait_for(done("hookline-ingest", topic), f"ingest to finish {topic}")
    await wait_for(done("hookline-fanout", topics.EVENTS), "fan-out to finish")


def tasks_of(org_id: str, messages: list[tuple[bytes | None, bytes]]) -> list[DeliveryTask]:
    tasks = [msgspec.json.decode(value, type=DeliveryTask) for _, value in messages]
    return [t for t in tasks if t.organization_id == org_id]


def events_of(org_id: str, messages: list[tuple[bytes | None, bytes]]) -> list[EventEnvelope]:
    events = [msgspec.json.decode(value, type=EventEnvelope) for _, value in messages]
    return [e for e in events if e.organization_id == org_id]


def targets(tasks: list[DeliveryTask], event_id: str) -> set[str]:
    return {t.webhook_id for t in tasks if t.event.id == event_id}


# --- the running pipeline ------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    servers: Servers
    db: AsyncDatabase[Document]
    producer: AIOKafkaProducer
    ingest: Litestar
    fanout: Litestar
    http: httpx.AsyncClient
    extra_topic: str

    @property
    def bootstrap(self) -> str:
        return self.servers.kafka_bootstrap

    async def settle(self) -> None:
        await settle(self.bootstrap, (topics.INGEST, self.extra_topic))

    async def deliveries_since(self, mark: TopicMark, org_id: str) -> list[DeliveryTask]:
        await self.settle()
        return tasks_of(org_id, await mark.read())

    async def mark(self, topic: str = topics.DELIVERIES) -> TopicMark:
        return await TopicMark.now(self.bootstrap, topic)


@contextlib.asynccontextmanager
async def pipeline(servers: Servers, db: AsyncDatabase[Document], extra_topic: str) -> AsyncIterator[Pipeline]:
    settings = settings_for(servers, ingest_extra_topics=extra_topic)
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        async with (
            running(create_fanout(settings)) as fanout,
            running(create_ingest(settings)) as ingest,
            http_client(ingest) as http,
        ):
            yield Pipeline(servers, db, producer, ingest, fanout, http, extra_topic)
    finally:
        await producer.stop()
