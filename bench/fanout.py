"""`make bench-fanout`: event-ingest and fan-out as separate processes on real Kafka and MongoDB, measured.

Prints two figures:
  (a) seconds for one event to fan out to 10,000 webhooks of one organization, from its publish on
      `hookline.events` to the last delivery task acknowledged on `hookline.deliveries`;
  (b) sustained events per second from `hookline.ingest` through ingest and fan-out, 10 webhooks per event.
A task counts as acknowledged once it is below the partition's end offset (acks=all on this broker).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HOOKLINE_TEST_SLOT", "5")

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hookline import documents, kafka, mongo, topics, webhooks
from hookline.ids import new_id
from hookline.messages import EventEnvelope
from hookline.webhooks import Webhook
from tests.platform import wait_ready
from tests.servers import SERVICE_PORT_BASE, TEST_STATE, Servers, start_servers

MASTER_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
INGEST_PORT, FANOUT_PORT = SERVICE_PORT_BASE + 1, SERVICE_PORT_BASE + 2


@contextmanager
def services(servers: Servers) -> Iterator[None]:
    logs = TEST_STATE / "logs" / "bench-fanout"
    logs.mkdir(parents=True, exist_ok=True)
    env = servers.env(HOOKLINE_MASTER_KEY=MASTER_KEY, HOOKLINE_LOG_LEVEL="warning")
    procs = []
    for module, port in (("hookline_fanout", FANOUT_PORT), ("hookline_ingest", INGEST_PORT)):
        with (logs / f"{module}.log").open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", module, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    try:
        for port in (FANOUT_PORT, INGEST_PORT):
            wait_ready(f"http://127.0.0.1:{port}")
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def metric(port: int, name: str) -> float:
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def end_offsets(bootstrap: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


async def topic_mark(bootstrap: str, topic: str = topics.DELIVERIES) -> dict[TopicPartition, int]:
    """The topic's end offsets now: what the counts start from."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return await end_offsets(bootstrap, [TopicPartition(topic, p["partition"]) for p in described["partitions"]])


async def wait_delivered(bootstrap: str, start: dict[TopicPartition, int], expected: int, timeout: float) -> float:
    """The moment `expected` messages are acknowledged on the topic since `start` (no other traffic here)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            ends = await consumer.end_offsets(list(start))
            count = sum(ends[tp] - start[tp] for tp in start)
            if count >= expected:
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise SystemExit(f"only {count} of {expected} messages arrived within {timeout:.0f}s")
            await asyncio.sleep(0.005)
    finally:
        await consumer.stop()


async def add_org(servers: Servers, producer: AIOKafkaProducer, webhook_count: int) -> str:
    """An organization with `webhook_count` webhooks subscribed to everything, created as the API does."""
    client = mongo.connect(servers.mongo_url)
    db = mongo.database(client)
    org = new_id("org")
    now = datetime.now(UTC)
    try:
        await db[documents.ORGANIZATIONS].insert_one({"_id": org, "name": "bench", "created_at": now})
        hooks = [
            Webhook(
                id=new_id("wh"),
                organization_id=org,
                url=f"https://receiver.example/{n}",
                events=["*"],
                created_at=now,
                updated_at=now,
            )
            for n in range(webhook_count)
        ]
        await db[documents.WEBHOOKS].insert_many([webhooks.to_document(w) for w in hooks])
        futures = [
            await producer.send(topics.ENDPOINTS, msgspec.json.encode(webhooks.to_config(w)), key=w.id.encode())
            for w in hooks
        ]
        await asyncio.gather(*futures)
    finally:
        await client.close()
    return org


async def wait_indexed(count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while metric(FANOUT_PORT, "hookline_fanout_webhooks") < count:
        if time.monotonic() > deadline:
            raise SystemExit("fan-out did not index the webhooks")
        await asyncio.sleep(0.1)


async def one_event_to_ten_thousand(servers: Servers, producer: AIOKafkaProducer) -> float:
    org = await add_org(servers, producer, 10_000)
    await wait_indexed(10_000)
    start = await topic_mark(servers.kafka_bootstrap)
    event = EventEnvelope(id=new_id("evt"), type="bench.wide", created_at=datetime.now(UTC), organization_id=org)
    began = time.perf_counter()
    await producer.send_and_wait(topics.EVENTS, msgspec.json.encode(event), key=org.encode())
    finished = await wait_delivered(servers.kafka_bootstrap, start, 10_000, timeout=60)
    return finished - began


async def sustained_rate(servers: Servers, producer: AIOKafkaProducer, events: int) -> tuple[float, float]:
    orgs = [await add_org(servers, producer, 10) for _ in range(12)]
    await wait_indexed(10_000 + 10 * len(orgs))
    start = await topic_mark(servers.kafka_bootstrap)
    events_start = await topic_mark(servers.kafka_bootstrap, topics.EVENTS)
    values = [
        (org, msgspec.json.encode({"type": "webhook.test", "organization_id": org, "data": {"n": n}}))
        for n in range(events)
        for org in (orgs[n % len(orgs)],)
    ]
    began = time.perf_counter()
    futures = [await producer.send(topics.INGEST, value, key=org.encode()) for org, value in values]
    await asyncio.gather(*futures)
    ingested = await wait_delivered(servers.kafka_bootstrap, events_start, events, timeout=90)
    finished = await wait_delivered(servers.kafka_bootstrap, start, events * 10, timeout=90)
    return events / (finished - began), events / (ingested - began)


async def measure(servers: Servers, events: int) -> tuple[float, tuple[float, float]]:
    producer = await kafka.start_producer(servers.kafka_bootstrap, linger_ms=5)
    try:
        wide = await one_event_to_ten_thousand(servers, producer)
        rate = await sustained_rate(servers, producer, events)
    finally:
        await producer.stop()
    return wide, rate


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/fanout.py")
    parser.add_argument("--events", type=int, default=30_000, help="events for the sustained-rate figure")
    args = parser.parse_args()
    with start_servers() as servers, services(servers):
        wide, (rate, ingest_rate) = asyncio.run(measure(servers, args.events))
    print(f"machine: {host.node()} {host.machine()} {os.cpu_count()} CPUs, Python {host.python_version()}")
    print(f"(a) one event to 10,000 webhooks of one organization: {wide:.2f} s from publish to last task acked")
    print(f"(b) sustained ingest -> fan-out, 10 webhooks per event: {rate:,.0f} events/s ({args.events:,} events)")
    print(f"    of which ingest alone (hookline.ingest -> hookline.events): {ingest_rate:,.0f} events/s")


if __name__ == "__main__":
    main()
