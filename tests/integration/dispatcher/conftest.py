"""Fixtures for dispatcher integration tests: receivers, a producer, and dispatcher engines on private topics."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo.asynchronous.database import AsyncDatabase

from hookline import delivery_status, documents, kafka
from hookline.messages import DeliveryTask
from hookline.mongo import Document
from hookline.retry_schedule import RETRY_TIERS, RetryPolicy
from hookline.settings import Settings
from hookline_dispatcher.engine import Engine
from hookline_dispatcher.options import DeliveryTopics, DispatcherOptions
from tests.integration.dispatcher.receivers import ReceiverHub, Route, start_hub
from tests.integration.dispatcher.seeding import BOX, MASTER_KEY, create_webhook, make_task, produce
from tests.servers import Servers

pytestmark = pytest.mark.integration


@dataclass
class RunningEngine:
    engine: Engine
    topics: DeliveryTopics
    producer: AIOKafkaProducer
    group_token: str = ""

    async def send(self, *tasks: DeliveryTask, partition: int | None = None) -> None:
        await produce(self.producer, self.topics.deliveries, *tasks, partition=partition)


async def create_topics(bootstrap: str, partitions: int = 4) -> DeliveryTopics:
    """A private set of delivery, retry-tier and dead-letter topics, so engines never read each other's tasks."""
    namespace = f"test-{secrets.token_hex(4)}"
    topics = DeliveryTopics(
        deliveries=f"{namespace}.deliveries",
        dead=f"{namespace}.deliveries.dead",
        retry_prefix=f"{namespace}.deliveries.retry.",
    )
    names = [topics.deliveries, topics.dead, *(topics.retry(t) for t in RETRY_TIERS)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    finally:
        await admin.close()
    return topics


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


ONE_ATTEMPT = RetryPolicy(policy="fixed", attempts=1, delay_seconds=1)


async def deliver_once(
    engine: RunningEngine, db: AsyncDatabase[Document], producer: AIOKafkaProducer, url: str, timeout: float = 30.0
) -> Document:
    """Sends one task to a new webhook at `url` with a single attempt; returns that attempt's document."""
    webhook, _ = await create_webhook(db, producer, url, retry_policy=ONE_ATTEMPT)
    task = make_task(webhook)
    await engine.send(task)

    async def attempted() -> bool:
        return await db[documents.ATTEMPTS].count_documents({"delivery_id": task.delivery_id}) == 1

    await wait_until(attempted, timeout=timeout, what=f"an attempt for {url}")
    attempt = await db[documents.ATTEMPTS].find_one({"delivery_id": task.delivery_id})
    assert attempt is not None
    return attempt


def all_succeeded(
    db: AsyncDatabase[Document], routes: list[Route], tasks: list[DeliveryTask]
) -> Callable[[], Awaitable[bool]]:
    """A condition: every task's event reached the receivers, and every delivery shows `succeeded`."""
    wanted = {t.event.id for t in tasks}
    delivery_ids = [t.delivery_id for t in tasks]

    async def condition() -> bool:
        if not wanted <= {r.headers["webhook-id"] for route in routes for r in route.received}:
            return False
        found = await delivery_status.of_ids(db, delivery_ids)
        return sum(1 for d in found if d.status == "succeeded") == len(tasks)

    return condition


@pytest.fixture(scope="session")
async def hub() -> AsyncIterator[ReceiverHub]:
    running = await start_hub()
    try:
        yield running.hub
    finally:
        await running.close()


@pytest.fixture(scope="session")
async def producer(servers: Servers) -> AsyncIterator[AIOKafkaProducer]:
    started = await kafka.start_producer(servers.kafka_bootstrap)
    try:
        yield started
    finally:
        await started.stop()


EngineFactory = Callable[..., Awaitable[RunningEngine]]


@pytest.fixture(scope="module")
async def start_engine(
    servers: Servers, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> AsyncIterator[EngineFactory]:
    """Starts engines on private topics (stopped when the module ends); keyword arguments are options."""
    started: list[Engine] = []

    async def start(
        *,
        allow_private_targets: bool = True,
        timeout: float = 5.0,
        extra_ca_file: str | None = None,
        attempt_retention_days: int = 30,
        topics: DeliveryTopics | None = None,
        group_token: str | None = None,
        **overrides: Any,
    ) -> RunningEngine:
        """`topics` and `group_token` of an earlier engine start a successor (or a peer) in its consumer groups."""
        topics = topics or await create_topics(servers.kafka_bootstrap)
        token = group_token or secrets.token_hex(4)
        options = replace(
            DispatcherOptions(),
            topics=topics,
            group_id=f"dispatcher-{token}",
            relay_group_id=f"relay-{token}",
            **overrides,
        )
        settings = Settings(
            kafka_bootstrap=servers.kafka_bootstrap,
            mongo_url=servers.mongo_url,
            master_key=MASTER_KEY,
            allow_private_targets=allow_private_targets,
            delivery_timeout_seconds=timeout,
            extra_ca_file=extra_ca_file,
            attempt_retention_days=attempt_retention_days,
        )
        engine = Engine(settings, db, BOX, options)
        await engine.start()
        started.append(engine)
        return RunningEngine(engine, topics, producer, token)

    try:
        yield start
    finally:
        for engine in started:
            if engine.ready:
                await engine.stop()


@pytest.fixture(scope="module")
async def dispatcher(start_engine: EngineFactory) -> RunningEngine:
    """The module's default engine: private targets allowed, default thresholds."""
    return await start_engine()
