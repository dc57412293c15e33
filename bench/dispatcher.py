"""Benchmark: sustained deliveries per second and p50/p99 attempt latency of one dispatcher process.

`uv run python bench/dispatcher.py [--tasks 20000] [--webhooks 10]` starts its own Kafka and MongoDB-wire server
(test slot 6 unless HOOKLINE_TEST_SLOT says otherwise), a fast receiver on loopback in this process, and one
dispatcher as a subprocess; it queues every task first, then measures from the first delivery to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HOOKLINE_TEST_SLOT", "6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from hookline import documents, kafka, mongo, topics
from tests.integration.dispatcher.dispatcher_process import wait_ready
from tests.integration.dispatcher.receivers import start_hub
from tests.integration.dispatcher.seeding import MASTER_KEY, create_webhook, make_task, produce
from tests.servers import SERVICE_PORT_BASE, Servers, start_servers


async def run(servers: Servers, tasks_total: int, webhook_count: int) -> None:
    client = mongo.connect(servers.mongo_url)
    db = mongo.database(client)
    producer = await kafka.start_producer(servers.kafka_bootstrap, linger_ms=20)
    running = await start_hub()
    hub = running.hub
    routes = [hub.add() for _ in range(webhook_count)]
    webhooks = [(await create_webhook(db, producer, r.url))[0] for r in routes]
    tasks = [make_task(webhooks[i % webhook_count]) for i in range(tasks_total)]
    started = time.perf_counter()
    for start in range(0, tasks_total, 2000):
        await produce(producer, topics.DELIVERIES, *tasks[start : start + 2000])
    print(f"queued {tasks_total} tasks for {webhook_count} webhooks in {time.perf_counter() - started:.1f}s")

    port = SERVICE_PORT_BASE + 9
    env = servers.env(
        HOOKLINE_MASTER_KEY=MASTER_KEY, HOOKLINE_ALLOW_PRIVATE_TARGETS="true", HOOKLINE_LOG_LEVEL="warning"
    )
    proc = subprocess.Popen([sys.executable, "-m", "hookline_dispatcher", "--port", str(port)], env=env)
    if os.environ.get("BENCH_PROFILE"):
        subprocess.Popen(
            ["py-spy", "record", "-d", "20", "-o", os.environ["BENCH_PROFILE"], "-f", "raw", "-p", str(proc.pid)]
        )
    try:
        await wait_ready(port, proc)
        while sum(len(r.received) for r in routes) < tasks_total:  # noqa: ASYNC110 - a bench, polling is fine
            await asyncio.sleep(0.05)
        arrivals = sorted(x.at for r in routes for x in r.received)
        span = arrivals[-1] - arrivals[0]
        deadline = time.monotonic() + 120
        while await db[documents.ATTEMPTS].count_documents({}) < tasks_total and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        latencies = sorted(
            float(a["latency_ms"]) for a in await db[documents.ATTEMPTS].find({}, {"latency_ms": 1}).to_list(None)
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
        await running.close()
        await producer.stop()
        await client.close()
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"deliveries: {len(arrivals)} in {span:.2f}s = {(len(arrivals) - 1) / span:.0f} deliveries/s sustained")
    print(f"attempt latency: p50 {quantiles[49]:.1f} ms, p99 {quantiles[98]:.1f} ms ({len(latencies)} attempts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--webhooks", type=int, default=10)
    args = parser.parse_args()
    with start_servers() as servers:
        asyncio.run(run(servers, args.tasks, args.webhooks))


if __name__ == "__main__":
    main()
