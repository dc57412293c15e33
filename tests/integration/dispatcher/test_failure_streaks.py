"""The disable rule's failure streak and the breaker outlive the dispatcher that saw them (DESIGN.md §6).

Each test runs a webhook's streak under one engine, stops it, and lets a successor in the same consumer group
(a restart, as far as the webhook can tell) continue from what the first one saved in MongoDB.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import delivery_status, documents
from hookline.mongo import Document
from hookline.webhooks import Webhook
from hookline_dispatcher.failure_streak_store import COLLECTION
from tests.integration.dispatcher.conftest import ONE_ATTEMPT, EngineFactory, RunningEngine, wait_until
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import create_webhook, make_task

pytestmark = pytest.mark.integration

# No breaker in the way of the streak tests (it would park tasks), a quick save interval, one request at a time.
STREAK_OPTIONS: dict[str, Any] = {
    "breaker_threshold": 1000,
    "disable_after_failures": 4,
    "streak_flush_seconds": 0.5,
    "per_webhook_concurrency": 1,
}


async def answer_500(route: Route, request: Received) -> Reply:
    return 500, {}, b"down"


class Switch:
    """A receiver behaviour that answers 200 while `healthy`, 500 otherwise."""

    def __init__(self, *, healthy: bool) -> None:
        self.healthy = healthy

    async def __call__(self, route: Route, request: Received) -> Reply:
        return (200, {}, b"ok") if self.healthy else (500, {}, b"down")


async def restart(start_engine: EngineFactory, running: RunningEngine, **options: Any) -> RunningEngine:
    """Stops `running` and starts a successor in its consumer groups, with a fresh memory."""
    await running.engine.stop()
    return await start_engine(topics=running.topics, group_token=running.group_token, **options)


async def streak_of(db: AsyncDatabase[Document], webhook: Webhook) -> Document | None:
    return await db[COLLECTION].find_one({"_id": webhook.id})


async def deliver_times(
    engine: RunningEngine, db: AsyncDatabase[Document], webhook: Webhook, route: Route, count: int
) -> None:
    """Sends `count` tasks and waits until each has been attempted and recorded."""
    tasks = [make_task(webhook) for _ in range(count)]
    await engine.send(*tasks)

    async def recorded() -> bool:
        ids = [t.delivery_id for t in tasks]
        return await db[documents.ATTEMPTS].count_documents({"delivery_id": {"$in": ids}}) == count

    await wait_until(recorded, what=f"{count} attempts to be recorded")


async def webhook_status(db: AsyncDatabase[Document], webhook: Webhook) -> tuple[str, str | None]:
    stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
    assert stored is not None
    return stored["status"], stored.get("status_reason")


async def test_the_failure_count_continues_after_a_restart_and_disables_at_the_limit(
    start_engine: EngineFactory, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    first = await start_engine(**STREAK_OPTIONS)
    route = hub.add(answer_500)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    await deliver_times(first, db, webhook, route, 2)

    async def saved_two() -> bool:
        doc = await streak_of(db, webhook)
        return doc is not None and doc["failures"] == 2

    # Saved by the periodic flush while the engine runs, not only at shutdown.
    await wait_until(saved_two, what="the streak of two failures to be saved")
    second = await restart(start_engine, first, **STREAK_OPTIONS)
    await deliver_times(second, db, webhook, route, 2)

    async def disabled() -> bool:
        return (await webhook_status(db, webhook))[0] == "disabled"

    await wait_until(disabled, what="the webhook to be disabled by the continued streak")
    assert await webhook_status(db, webhook) == ("disabled", "disabled after 4 failed deliveries in a row")
    assert len(route.received) == 4

    async def streak_spent() -> bool:
        doc = await streak_of(db, webhook)
        return doc is None or doc["failures"] == 0

    # The disable spends the streak: a webhook enabled again starts from zero (the breaker keeps its count).
    await wait_until(streak_spent, what="the spent streak to be removed")


async def test_a_success_ends_the_saved_streak(
    start_engine: EngineFactory, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    switch = Switch(healthy=False)
    first = await start_engine(**STREAK_OPTIONS)
    route = hub.add(switch)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    await deliver_times(first, db, webhook, route, 3)

    async def saved_three() -> bool:
        doc = await streak_of(db, webhook)
        return doc is not None and doc["failures"] == 3

    await wait_until(saved_three, what="the streak of three failures to be saved")
    switch.healthy = True
    await deliver_times(first, db, webhook, route, 1)  # answered 200 this time

    async def streak_gone() -> bool:
        return await streak_of(db, webhook) is None

    await wait_until(streak_gone, what="the success to remove the saved streak")
    second = await restart(start_engine, first, **STREAK_OPTIONS)
    switch.healthy = False
    await deliver_times(second, db, webhook, route, 3)

    async def saved_new_three() -> bool:
        doc = await streak_of(db, webhook)
        return doc is not None and doc["failures"] == 3

    # Three new failures: without the reset the count would be six, over the limit of four.
    await wait_until(saved_new_three, what="a new streak of three to be saved")
    assert await webhook_status(db, webhook) == ("enabled", None)


async def test_the_streak_clock_keeps_running_across_a_restart(
    start_engine: EngineFactory, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    window = 4.0
    options = {**STREAK_OPTIONS, "disable_after_failures": 1000, "disable_after_seconds": window}
    first = await start_engine(**options)
    route = hub.add(answer_500)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    await deliver_times(first, db, webhook, route, 1)
    second = await restart(start_engine, first, **options)
    saved = await streak_of(db, webhook)
    assert saved is not None and saved["failures"] == 1
    began = saved["started_at"].timestamp()
    # Waiting for the clock itself: the rule is about time passing, and no condition can stand in for it.
    await asyncio.sleep(max(0.0, began + window + 0.5 - time.time()))
    await deliver_times(second, db, webhook, route, 1)

    async def disabled() -> bool:
        return (await webhook_status(db, webhook))[0] == "disabled"

    await wait_until(disabled, what="the webhook to be disabled by the time rule")
    _status, reason = await webhook_status(db, webhook)
    assert reason is not None and reason.startswith("disabled: every delivery attempt failed for "), reason


async def test_an_open_breaker_stays_open_across_a_restart(
    start_engine: EngineFactory, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    cooldown = 30.0  # long enough that a restart (a few seconds) leaves most of it to observe
    options = {
        **STREAK_OPTIONS,
        "disable_after_failures": 1000,
        "breaker_threshold": 2,
        "breaker_cooldown_seconds": cooldown,
        "breaker_max_cooldown_seconds": cooldown,
    }
    switch = Switch(healthy=False)
    first = await start_engine(**options)
    route = hub.add(switch)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    await deliver_times(first, db, webhook, route, 2)

    async def breaker_saved() -> bool:
        doc = await streak_of(db, webhook)
        return doc is not None and doc["breaker_open_until"] is not None

    await wait_until(breaker_saved, what="the open breaker to be saved")
    second = await restart(start_engine, first, **options)
    saved = await streak_of(db, webhook)
    assert saved is not None
    open_until = saved["breaker_open_until"].timestamp()
    switch.healthy = True
    task = make_task(webhook)
    sent_at = time.time()
    assert sent_at < open_until - 2, f"the restart took {cooldown - (open_until - sent_at):.0f}s of the cooldown"
    await second.send(task)

    async def delivered() -> bool:
        found = await delivery_status.find(db, task.delivery_id)
        return found is not None and found.status == "succeeded"

    await wait_until(delivered, timeout=cooldown + 30, what="the probe after the cooldown to succeed")
    attempt = await db[documents.ATTEMPTS].find_one({"delivery_id": task.delivery_id})
    assert attempt is not None
    # The successor held the task back until the breaker its predecessor opened was due for a probe.
    assert attempt["created_at"].timestamp() >= open_until - 0.1, (attempt["created_at"], open_until)
    assert len(route.received) == 3

    async def streak_gone() -> bool:
        return await streak_of(db, webhook) is None

    await wait_until(streak_gone, what="the successful probe to end the saved streak")
