"""Two dispatcher processes in one consumer group: one joins mid-run, then the busy one is stopped mid-run.

Every task is delivered and recorded; a task delivered twice (at-least-once) carries the same `webhook-id` and
body both times; and a rate-limited webhook, owned by one dispatcher at a time, keeps to its limit across both
rebalances, because a revoked partition's unfinished tasks are cancelled before its next owner gets it.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.integration.dispatcher.conftest import all_succeeded, create_topics, wait_until
from tests.integration.dispatcher.dispatcher_process import scrape, start_dispatcher_process, stop, wait_ready
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import create_webhook, make_task, produce
from tests.platform import free_port
from tests.servers import Servers

pytestmark = pytest.mark.integration

WEBHOOKS = 6
TASKS_PER_WEBHOOK = 100
# The rate-limited webhook's tasks take 60 s at its rate: both rebalances happen while it still has work, even
# when the second process takes long to start on a loaded machine.
RATE = 10.0
LIMITED_TASKS = 600
# Any 4 s of arrivals at the rate-limited receiver. One sender books starts 1/RATE apart, so 4 s hold at most
# 4*RATE plus the bucket's burst (1); arrivals bunch when the loaded event loop of the sender (or the receiver)
# stalls, so 30 % more is allowed (a stall of about 1.2 s). Two senders at once (the old owner still draining a
# revoked partition while the new one starts from the last commit) would put about 2*4*RATE = 80 in a window.
WINDOW_SECONDS = 4.0
WINDOW_LIMIT = 1.3 * (WINDOW_SECONDS * RATE + 2)
# A task is sent twice only if it was sent but not committed when its partition changed hands: one that was in
# flight when the drain time ran out, or that finished above a lower unfinished offset. Either way at most the
# webhook's concurrency (16 by default) per hand-over, and there are two. (Before tasks resumed in offset order
# and revoked partitions stopped being read during the drain, a hand-over re-sent a couple of hundred.)
DUPLICATE_LIMIT = 2 * 16


async def answer_a_little_later(route: Route, request: Received) -> Reply:
    await asyncio.sleep(0.02)
    return 200, {}, b"ok"


async def busy_one(processes: dict[int, subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """The process with tasks in flight (by its `/metrics`), waiting until exactly one has some."""
    busy: list[subprocess.Popen[bytes]] = []

    async def one_busy() -> bool:
        busy.clear()
        for port, proc in processes.items():
            _families, samples = await scrape(port)
            if samples[("hookline_dispatcher_in_flight", ())] > 0:
                busy.append(proc)
        return len(busy) == 1

    await wait_until(one_busy, timeout=60, what="one dispatcher to own the rate-limited webhook")
    return busy[0]


def busiest_window(arrivals: list[float], seconds: float) -> int:
    ordered = sorted(arrivals)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_dispatcher_joining_and_the_busy_one_leaving_mid_run_lose_nothing(
    servers: Servers, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    topics = await create_topics(servers.kafka_bootstrap, partitions=6)
    routes = [hub.add(answer_a_little_later) for _ in range(WEBHOOKS)]
    limited = routes[0]
    webhooks = [
        (await create_webhook(db, producer, r.url, rate_limit_per_second=RATE if r is limited else None))[0]
        for r in routes
    ]
    tasks = [make_task(webhooks[i % WEBHOOKS]) for i in range(WEBHOOKS * TASKS_PER_WEBHOOK)]
    tasks += [make_task(webhooks[0]) for _ in range(LIMITED_TASKS - TASKS_PER_WEBHOOK)]
    group = f"rebalance-{free_port()}"
    first_port, second_port = free_port(), free_port()
    first = start_dispatcher_process(servers, first_port, topics=topics, group_token=group)
    second = None
    try:
        await wait_ready(first_port, first)
        await produce(producer, topics.deliveries, *tasks)

        async def limited_reached(count: int) -> bool:
            return len(limited.received) >= count

        await wait_until(lambda: limited_reached(60), timeout=120, what="the first rate-limited deliveries")
        second = start_dispatcher_process(servers, second_port, topics=topics, group_token=group)
        await wait_ready(second_port, second)
        # Some progress after the join's rebalance, then the hand-over of a partition with work left.
        progressed = len(limited.received) + 50
        await wait_until(lambda: limited_reached(progressed), timeout=120, what="deliveries after the join")
        # Stop the owner of the rate-limited webhook, the only one with work left: the partition it hands over
        # has a backlog, tasks waiting on the rate limit, and tasks in flight.
        owner = await busy_one({first_port: first, second_port: second})
        assert await stop(owner) in (0, -15)

        await wait_until(all_succeeded(db, routes, tasks), timeout=180, what="every delivery to succeed")
    finally:
        for proc in (first, second):
            if proc is not None:
                await stop(proc)

    # Duplicates are allowed (at-least-once), but each is the same delivery: same webhook-id, same body, same route.
    seen: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for route in routes:
        for request in route.received:
            seen[request.headers["webhook-id"]].append((route.name, request.body))
    assert set(seen) == {t.event.id for t in tasks}
    for copies in seen.values():
        assert len({name for name, _ in copies}) == 1 and len({body for _, body in copies}) == 1
    duplicates = sum(len(copies) - 1 for copies in seen.values())
    assert duplicates <= DUPLICATE_LIMIT, duplicates
    busiest = busiest_window([r.at for r in limited.received], WINDOW_SECONDS)
    assert busiest <= WINDOW_LIMIT, (busiest, WINDOW_LIMIT)
