"""Per-webhook control: circuit breaker, the disable rule, rate limits, and isolation of slow receivers."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.mongo import Document
from hookline.retry_schedule import RetryPolicy
from tests.integration.dispatcher.conftest import EngineFactory, RunningEngine, wait_until
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import create_webhook, make_task

pytestmark = pytest.mark.integration

COOLDOWN = 2.0
ONE_ATTEMPT = RetryPolicy(policy="fixed", attempts=1, delay_seconds=1)


@pytest.fixture(scope="module")
async def strict(start_engine: EngineFactory) -> RunningEngine:
    """An engine whose breaker opens after 3 failures and which disables a webhook after 6 in a row."""
    return await start_engine(
        breaker_threshold=3,
        breaker_cooldown_seconds=COOLDOWN,
        breaker_max_cooldown_seconds=COOLDOWN,
        disable_after_failures=6,
        per_webhook_concurrency=1,
    )


async def answer_500(route: Route, request: Received) -> Reply:
    return 500, {}, b"down"


async def test_the_breaker_spaces_deliveries_out_after_consecutive_failures(
    strict: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add(answer_500)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    tasks = [make_task(webhook) for _ in range(5)]
    await strict.send(*tasks)
    received = await route.wait_for(5, timeout=30)
    gaps = [b.at - a.at for a, b in itertools.pairwise(received)]
    # Three failures open the breaker; each later delivery is a lone probe, a cooldown after the one before.
    assert all(gap >= COOLDOWN - 0.1 for gap in gaps[2:]), gaps
    state = strict.engine.handler.states.get(webhook.id)  # type: ignore[union-attr]
    assert state.breaker.is_open

    async def all_failed() -> bool:
        count = await db[documents.DELIVERIES].count_documents(
            {"_id": {"$in": [t.delivery_id for t in tasks]}, "status": "failed"}
        )
        return count == 5

    await wait_until(all_failed, what="five failed deliveries")
    # Held-back deliveries used up no attempt: each delivery was attempted exactly once.
    attempts = await db[documents.ATTEMPTS].find({"webhook_id": webhook.id}).to_list(None)
    assert sorted(a["delivery_id"] for a in attempts) == sorted(t.delivery_id for t in tasks)
    stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
    assert stored is not None and stored["status"] == "enabled"


async def test_a_webhook_failing_too_many_times_in_a_row_is_disabled_with_a_reason(
    strict: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add(answer_500)
    webhook, _ = await create_webhook(db, producer, route.url, retry_policy=ONE_ATTEMPT)
    tasks = [make_task(webhook) for _ in range(8)]
    await strict.send(*tasks)

    async def disabled() -> bool:
        stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
        return stored is not None and stored["status"] == "disabled"

    await wait_until(disabled, timeout=40, what="the webhook to be disabled")
    stored = await db[documents.WEBHOOKS].find_one({"_id": webhook.id})
    assert stored is not None and stored["status_reason"] == "disabled after 6 failed deliveries in a row"

    async def all_settled() -> bool:
        docs = await db[documents.DELIVERIES].find({"_id": {"$in": [t.delivery_id for t in tasks]}}).to_list(None)
        return len(docs) == 8 and all(d["status"] == "failed" for d in docs)

    await wait_until(all_settled, timeout=30, what="every delivery to be settled")
    assert len(route.received) == 6
    skipped = await db[documents.DELIVERIES].count_documents(
        {"_id": {"$in": [t.delivery_id for t in tasks]}, "last_error": "webhook_disabled"}
    )
    assert skipped == 2


async def test_the_rate_limit_holds_deliveries_to_the_configured_rate(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add()
    webhook, _ = await create_webhook(db, producer, route.url, rate_limit_per_second=10.0)
    await dispatcher.send(*(make_task(webhook) for _ in range(40)))
    received = await route.wait_for(40, timeout=30)
    measured = (len(received) - 1) / (received[-1].at - received[0].at)
    assert 8.0 <= measured <= 12.0, measured


async def test_a_slow_receiver_does_not_starve_a_fast_one_in_the_same_partition(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    release = asyncio.Event()

    async def hold(route: Route, request: Received) -> Reply:
        await release.wait()
        return 200, {}, b"late"

    slow = hub.add(hold)
    fast = hub.add()
    slow_webhook, _ = await create_webhook(db, producer, slow.url)
    fast_webhook, _ = await create_webhook(db, producer, fast.url)
    await dispatcher.send(*(make_task(slow_webhook) for _ in range(30)), partition=0)
    await dispatcher.send(*(make_task(fast_webhook) for _ in range(30)), partition=0)
    try:
        await fast.wait_for(30, timeout=4)
        # Every fast delivery arrived while the slow receiver still held its requests, capped per webhook.
        assert len(slow.received) == dispatcher.engine.options.per_webhook_concurrency
    finally:
        release.set()
    await slow.wait_for(30, timeout=30)
