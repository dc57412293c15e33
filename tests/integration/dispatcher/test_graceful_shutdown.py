"""A dispatcher process stopped with SIGTERM mid-run loses nothing: its successor delivers whatever it left."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import delivery_status, documents, topics
from hookline.messages import DeliveryTask
from hookline.mongo import Document
from hookline.retry_schedule import RetryPolicy
from tests.integration.dispatcher.conftest import wait_until
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import MASTER_KEY, create_webhook, make_task, produce
from tests.servers import SERVICE_PORT_BASE, Servers

pytestmark = pytest.mark.integration

# More than the partition windows hold (4 webhooks' keys land on at most 4 partitions), so at the SIGTERM some
# tasks are in flight, some wait in a retry tier and some have not been read at all.
TASKS = 1200


def start_dispatcher(servers: Servers, port: int) -> subprocess.Popen[bytes]:
    env = servers.env(
        HOOKLINE_MASTER_KEY=MASTER_KEY, HOOKLINE_ALLOW_PRIVATE_TARGETS="true", HOOKLINE_DELIVERY_TIMEOUT_SECONDS="5"
    )
    return subprocess.Popen([sys.executable, "-m", "hookline_dispatcher", "--port", str(port)], env=env)


async def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the dispatcher exited during start-up"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the dispatcher did not become ready")


async def succeeded_deliveries(db: AsyncDatabase[Document], tasks: list[DeliveryTask]) -> int:
    found = await delivery_status.of_ids(db, [t.delivery_id for t in tasks])
    return sum(1 for d in found if d.status == "succeeded")


async def test_sigterm_mid_run_loses_no_delivery(
    servers: Servers, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    async def slow_and_flaky(route: Route, request: Received) -> Reply:
        # Every ninth request fails, so some deliveries wait in a retry tier at the SIGTERM. Decided on arrival:
        # deciding after the sleep would fail bursts of concurrent requests and (rightly) open the breaker.
        fails = len(route.received) % 9 == 0
        await asyncio.sleep(0.05)
        return (500, {}, b"flaky") if fails else (200, {}, b"ok")

    routes = [hub.add(slow_and_flaky) for _ in range(4)]
    policy = RetryPolicy(policy="fixed", attempts=10, delay_seconds=1)
    webhooks = [(await create_webhook(db, producer, r.url, retry_policy=policy))[0] for r in routes]
    tasks = [make_task(webhooks[i % len(webhooks)]) for i in range(TASKS)]
    first_port, second_port = SERVICE_PORT_BASE + 7, SERVICE_PORT_BASE + 8
    first = start_dispatcher(servers, first_port)
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_ready(first_port, first)
        await produce(producer, topics.DELIVERIES, *tasks)

        async def some_arrived() -> bool:
            return sum(len(r.received) for r in routes) >= TASKS // 4

        await wait_until(some_arrived, what="a quarter of the deliveries")
        first.send_signal(signal.SIGTERM)
        # uvicorn finishes its shutdown (our lifespan included), then re-raises the signal it caught.
        assert await asyncio.to_thread(first.wait, 60) in (0, -signal.SIGTERM)
        done_before = await succeeded_deliveries(db, tasks)
        assert done_before < TASKS

        second = start_dispatcher(servers, second_port)
        await wait_ready(second_port, second)
        wanted = {t.event.id for t in tasks}

        async def all_succeeded() -> bool:
            received = {r.headers["webhook-id"] for route in routes for r in route.received}
            if not wanted <= received:
                return False
            done = await succeeded_deliveries(db, tasks)
            return done == TASKS

        try:
            await wait_until(all_succeeded, timeout=150, what="every delivery to succeed")
        except AssertionError:
            received = {r.headers["webhook-id"] for route in routes for r in route.received}
            statuses = await (
                await db[documents.DELIVERIES].aggregate(
                    [
                        {"$match": {"webhook_id": {"$in": [w.id for w in webhooks]}}},
                        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
                    ]
                )
            ).to_list(None)
            raise AssertionError(
                f"{len(wanted - received)} events never received; delivery statuses {statuses}"
            ) from None
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                await asyncio.to_thread(proc.wait, 30)
