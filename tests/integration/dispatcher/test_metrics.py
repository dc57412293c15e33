"""The dispatcher's `/metrics`, scraped over HTTP from a dispatcher process: the issue's metrics exist and move.

Deliveries by outcome, the attempt latency histogram, tasks in flight, the retry-tier backlog and the consumer
lag, each driven by receivers that succeed, fail, or hold their requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from hookline.retry_schedule import RetryPolicy
from hookline_dispatcher.options import DeliveryTopics
from tests.integration.dispatcher.conftest import create_topics, wait_until
from tests.integration.dispatcher.dispatcher_process import (
    Samples,
    scrape,
    start_dispatcher_process,
    stop,
    wait_ready,
)
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import create_webhook, make_task, produce
from tests.platform import free_port
from tests.servers import Servers

pytestmark = pytest.mark.integration

PREFIX = "hookline_dispatcher_"
FAMILIES = {
    f"{PREFIX}deliveries": "counter",
    f"{PREFIX}attempt_latency_seconds": "histogram",
    f"{PREFIX}in_flight": "gauge",
    f"{PREFIX}retry_backlog": "gauge",
    f"{PREFIX}consumer_lag": "gauge",
}
# Small enough that a held receiver fills it quickly: the partition pauses and what follows is lag.
WINDOW = 40
HELD = 60
UNREAD = 100
# The failed attempt's retry waits in the 30 s tier, long enough to be seen there.
RETRY_LATER = RetryPolicy(policy="fixed", attempts=2, delay_seconds=35)


class Metrics:
    def __init__(self, port: int) -> None:
        self.port = port
        self.samples: Samples = {}

    async def read(self) -> Samples:
        _families, self.samples = await scrape(self.port)
        return self.samples

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((PREFIX + name, tuple(sorted(labels.items()))), 0.0)

    def until(self, test: Callable[[Metrics], bool]) -> Callable[[], Awaitable[bool]]:
        async def condition() -> bool:
            await self.read()
            return test(self)

        return condition


@pytest.fixture(scope="module")
async def topics(servers: Servers) -> DeliveryTopics:
    return await create_topics(servers.kafka_bootstrap)


@pytest.fixture(scope="module")
async def metrics(servers: Servers, topics: DeliveryTopics) -> AsyncIterator[Metrics]:
    port = free_port()
    proc = start_dispatcher_process(
        servers,
        port,
        topics=topics,
        group_token=f"metrics-{port}",
        timeout=120.0,
        metrics_interval_seconds=0.5,
        partition_window=WINDOW,
        per_webhook_concurrency=4,
    )
    try:
        await wait_ready(port, proc)
        yield Metrics(port)
    finally:
        await stop(proc)


async def test_every_metric_of_the_issue_is_declared(metrics: Metrics) -> None:
    families, _samples = await scrape(metrics.port)
    assert set(FAMILIES) <= families, set(FAMILIES) - families


async def test_deliveries_latency_in_flight_backlog_and_lag_move(
    metrics: Metrics, topics: DeliveryTopics, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    await metrics.read()
    succeeded_before = metrics.value("deliveries_total", outcome="succeeded")
    latency_count_before = metrics.value("attempt_latency_seconds_count")

    # Fast deliveries: the succeeded count and the latency histogram move together.
    fast = hub.add()
    fast_webhook, _ = await create_webhook(db, producer, fast.url)
    await produce(producer, topics.deliveries, *(make_task(fast_webhook) for _ in range(20)))
    await wait_until(
        metrics.until(lambda m: m.value("deliveries_total", outcome="succeeded") >= succeeded_before + 20),
        what="20 more succeeded deliveries",
    )
    assert metrics.value("attempt_latency_seconds_count") >= latency_count_before + 20
    assert metrics.value("attempt_latency_seconds_sum") > 0
    assert metrics.value("attempt_latency_seconds_bucket", le="+Inf") == metrics.value("attempt_latency_seconds_count")

    # A failed attempt: counted as retried, and its retry waits in the 30 s tier.
    failing = hub.add(answer_500)
    failing_webhook, _ = await create_webhook(db, producer, failing.url, retry_policy=RETRY_LATER)
    await produce(producer, topics.deliveries, make_task(failing_webhook))
    await wait_until(
        metrics.until(
            lambda m: m.value("deliveries_total", outcome="retried") >= 1 and m.value("retry_backlog", tier="30s") >= 1
        ),
        what="a retried delivery waiting in the 30 s tier",
    )

    # A receiver that holds its requests: tasks pile up in flight, the partition pauses, the rest is lag.
    release = asyncio.Event()

    async def hold(route: Route, request: Received) -> Reply:
        await release.wait()
        return 200, {}, b"late"

    slow = hub.add(hold)
    slow_webhook, _ = await create_webhook(db, producer, slow.url)
    try:
        await produce(producer, topics.deliveries, *(make_task(slow_webhook) for _ in range(HELD)))
        await wait_until(metrics.until(lambda m: m.value("in_flight") >= WINDOW), what="tasks in flight")
        await produce(producer, topics.deliveries, *(make_task(slow_webhook) for _ in range(UNREAD)))
        await wait_until(metrics.until(lambda m: m.value("consumer_lag") >= UNREAD), what="consumer lag")
    finally:
        release.set()
    expected = succeeded_before + 20 + HELD + UNREAD
    await wait_until(
        metrics.until(
            lambda m: (
                m.value("deliveries_total", outcome="succeeded") >= expected
                and m.value("in_flight") == 0
                and m.value("consumer_lag") == 0
            )
        ),
        timeout=60,
        what="the held deliveries to drain",
    )

    # The retry comes back after its delay, fails again, and is the policy's last attempt: a dead letter.
    await wait_until(
        metrics.until(
            lambda m: m.value("deliveries_total", outcome="dead") >= 1 and m.value("retry_backlog", tier="30s") == 0
        ),
        timeout=120,
        what="the retried delivery to be dead-lettered",
    )
    assert len(failing.received) == 2


async def answer_500(route: Route, request: Received) -> Reply:
    return 500, {}, b"down"
