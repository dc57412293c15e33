"""Failed deliveries are retried on the webhook's policy through the retry tiers, then dead-lettered."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.mongo import Document
from hookline.retry_schedule import JITTER, RetryPolicy, base_delay
from tests.integration.dispatcher.conftest import RunningEngine, wait_until
from tests.integration.dispatcher.kafka_reading import read_dead
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import create_webhook, make_task
from tests.servers import Servers

pytestmark = pytest.mark.integration

# The relay releases a message at its due time, plus at most one fetch round and a re-queue.
LATE_TOLERANCE = 1.0
EARLY_TOLERANCE = 0.05


async def answer_500(route: Route, request: Received) -> Reply:
    return 500, {}, b"x" * 10_000


def intervals(received: list[Received]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(received)]


@pytest.mark.parametrize("policy", ["exponential", "linear", "fixed"])
async def test_each_policy_spaces_its_attempts_and_dead_letters_after_the_last(
    dispatcher: RunningEngine,
    hub: ReceiverHub,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    servers: Servers,
    policy: str,
) -> None:
    retry_policy = RetryPolicy(policy=policy, attempts=4, delay_seconds=1)  # type: ignore[arg-type]
    route = hub.add(answer_500)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=retry_policy)
    task = make_task(webhook)
    await dispatcher.send(task)
    [dead] = await read_dead(servers.kafka_bootstrap, dispatcher.topics.dead, {task.delivery_id}, timeout=40)
    assert len(route.received) == 4
    spread = JITTER[policy]
    for number, waited in enumerate(intervals(route.received), start=1):
        base = base_delay(retry_policy, number)
        assert base * (1 - spread) - EARLY_TOLERANCE <= waited <= base * (1 + spread) + LATE_TOLERANCE, (
            number,
            waited,
        )
    assert (dead.attempts, dead.last_status_code, dead.last_error) == (4, 500, "http_status")
    assert {r.headers["webhook-id"] for r in route.received} == {task.event.id}

    async def delivery_failed() -> bool:
        doc = await db[documents.DELIVERIES].find_one({"_id": task.delivery_id})
        return doc is not None and doc["status"] == "failed"

    await wait_until(delivery_failed, what="the delivery to show failed")
    delivery = await db[documents.DELIVERIES].find_one({"_id": task.delivery_id})
    assert delivery is not None and delivery["attempts"] == 4 and delivery["webhook_id"] == webhook.id
    attempts = await db[documents.ATTEMPTS].find({"delivery_id": task.delivery_id}).sort("attempt").to_list(None)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["error"] == "http_status" and len(a["response_body"]) == 4096 for a in attempts)
    assert [a["next_retry_at"] is None for a in attempts] == [False, False, False, True]
    assert all(a["next_retry_at"] > a["created_at"] for a in attempts[:3])


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_on_429_and_503_is_honoured(
    dispatcher: RunningEngine,
    hub: ReceiverHub,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    status: int,
) -> None:
    async def busy_then_ok(route: Route, request: Received) -> Reply:
        if len(route.received) == 1:
            return status, {"Retry-After": "3"}, b"slow down"
        return 200, {}, b"ok"

    route = hub.add(busy_then_ok)
    webhook, _ = await create_webhook(
        db, producer, route.url, retry_policy=RetryPolicy(policy="fixed", attempts=3, delay_seconds=1)
    )
    await dispatcher.send(make_task(webhook))
    received = await route.wait_for(2, timeout=20)
    [waited] = intervals(received)
    assert 3 - EARLY_TOLERANCE <= waited <= 3 + LATE_TOLERANCE


async def test_410_disables_the_webhook_at_once_and_dead_letters(
    dispatcher: RunningEngine,
    hub: ReceiverHub,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    servers: Servers,
) -> None:
    async def gone(route: Route, request: Received) -> Reply:
        return 410, {}, b"gone"

    route = hub.add(gone)
    webhook, _ = await create_webhook(db, producer, route.url)
    task = make_task(webhook)
    await dispatcher.send(task)
    [dead] = await read_dead(servers.kafka_bootstrap, dispatcher.topics.dead, {task.delivery_id})
    assert (dead.attempts, dead.last_status_code) == (1, 410)

    async def disabled() -> bool:
        stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
        return stored is not None and stored["status"] == "disabled"

    # The dead letter and the disable are written side by side: the dead letter may be readable first.
    await wait_until(disabled, what="the webhook to be disabled")
    stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
    assert stored is not None
    assert (stored["status"], stored["status_reason"]) == ("disabled", "endpoint answered 410 Gone")
    assert stored["version"] == webhook.version + 1

    async def config_disabled() -> bool:
        config = dispatcher.engine.follower.get(webhook.id)
        return config is not None and config.status == "disabled"

    await wait_until(config_disabled, what="the disabled config to come back on hookline.endpoints")
    later = make_task(webhook)
    await dispatcher.send(later)

    async def later_failed() -> bool:
        doc = await db[documents.DELIVERIES].find_one({"_id": later.delivery_id})
        return doc is not None and doc["status"] == "failed"

    await wait_until(later_failed, what="a task for the disabled webhook to be marked failed")
    doc = await db[documents.DELIVERIES].find_one({"_id": later.delivery_id})
    assert doc is not None and doc["last_error"] == "webhook_disabled"
    assert len(route.received) == 1


async def test_a_task_of_a_deleted_webhook_is_dropped_and_marked_failed(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    from hookline.webhooks import publish_tombstone

    route = hub.add()
    webhook, _ = await create_webhook(db, producer, route.url)
    await publish_tombstone(producer, webhook.id)
    task = make_task(webhook)
    await dispatcher.send(task)

    async def marked() -> bool:
        doc = await db[documents.DELIVERIES].find_one({"_id": task.delivery_id})
        return doc is not None and doc["last_error"] == "webhook_deleted"

    await wait_until(marked, what="the task of a deleted webhook to be marked")
    assert route.received == []
    assert datetime.now(UTC) > webhook.created_at
