"""Latency at a fixed rate, split by stage: where the time from produce to the receiver's read goes.

    uv run python bench/stages.py --events-per-s 110 --seconds 30

Starts the servers (test slot 8, like `make bench`), the four services and a loopback receiver, makes a tenant of
10 webhooks, then publishes at a steady pace. Each event carries the producer's clock (`data.t0`); the stages
are read from the Kafka records' own timestamps (set by the producing service when it sends):

- ingest: t0 → the event's record on `hookline.events` (event-ingest stored it and sent it);
- fan-out: that record → the task's record on `hookline.deliveries`;
- end to end: t0 → the receiver's read (as `make bench` reports it), so the dispatcher's share is the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.cpu import CpuWindow
from bench.run import latency, make_tenant, running_receiver, server_pids, start_platform
from hookline import topics
from hookline.messages import DeliveryTask, EventEnvelope
from tests.servers import Servers, start_servers


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"n": len(ordered), "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": round(ordered[-1], 1)}


class StageWatcher:
    """Reads `hookline.events` and `hookline.deliveries` from their ends and keeps each record's delay."""

    def __init__(self, servers: Servers, org: str) -> None:
        self._servers = servers
        self._org = org
        self.ingest_ms: list[float] = []
        self.fanout_ms: list[float] = []
        self._event_at: dict[str, float] = {}
        # Worst delay of each stage per second of the run (unix second of the event's record): when spikes happen.
        self.worst: dict[tuple[str, int], float] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._servers.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        watched = [spec for spec in topics.TOPICS if spec.name in (topics.EVENTS, topics.DELIVERIES)]
        parts = [TopicPartition(spec.name, p) for spec in watched for p in range(spec.partitions)]
        consumer.assign(parts)
        for tp, end in (await consumer.end_offsets(parts)).items():
            consumer.seek(tp, end)
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for record in records:
                    if tp.topic == topics.EVENTS:
                        event = msgspec.json.decode(record.value or b"", type=EventEnvelope)
                        if event.organization_id == self._org and isinstance(event.data, dict):
                            self._event_at[event.id] = record.timestamp
                            self._note("ingest", record.timestamp, record.timestamp - float(event.data["t0"]) * 1000)
                    else:
                        task = msgspec.json.decode(record.value or b"", type=DeliveryTask)
                        at = self._event_at.get(task.event.id)
                        if at is not None and task.attempt == 1:
                            self._note("fanout", at, record.timestamp - at)

    def _note(self, stage: str, at_ms: float, delay_ms: float) -> None:
        (self.ingest_ms if stage == "ingest" else self.fanout_ms).append(delay_ms)
        key = (stage, int(at_ms // 1000))
        self.worst[key] = max(self.worst.get(key, 0.0), delay_ms)

    def spikes(self, over_ms: float = 200.0) -> list[str]:
        """`second stage worst_ms` for every second whose worst delay passed `over_ms`."""
        first = min((second for _, second in self.worst), default=0)
        return [
            f"+{second - first}s {stage} {worst:.0f}ms"
            for (stage, second), worst in sorted(self.worst.items(), key=lambda kv: (kv[0][1], kv[0][0]))
            if worst > over_ms
        ]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()


async def measure(
    servers: Servers, events_per_s: float, seconds: float, dispatchers: int, warmup: float
) -> dict[str, object]:
    async with running_receiver() as (receiver, receiver_pid):
        platform = start_platform(servers, dispatchers)
        pids = {name: proc.pid for name, proc in platform.procs.items() if name != "subscription-api"}
        cpu = CpuWindow(pids | {"receiver": receiver_pid, "load-generator": os.getpid()} | server_pids(servers))
        try:
            org = await make_tenant(servers, receiver, 10)
            await asyncio.sleep(2)  # the services apply the 10 new webhook configs
            if warmup > 0:
                # What a fresh platform does in its first seconds (start-up sweeps, first connections) is not
                # what `make bench` measures: its latency phase follows a minute of saturation.
                print(f"warming up ({warmup:.0f} s at the same rate)…", flush=True)
                await latency(servers, org, receiver, events_per_s, warmup)
            watcher = StageWatcher(servers, org)
            await watcher.start()
            cpu.start()
            started = time.monotonic()
            try:
                end_to_end = await latency(servers, org, receiver, events_per_s, seconds)
            finally:
                used = cpu.stop()
                elapsed = time.monotonic() - started
                await watcher.stop()
        finally:
            platform.stop_all()
    return {
        "events_per_s": events_per_s,
        "deliveries_per_s": events_per_s * 10,
        "ingest": quantiles(watcher.ingest_ms),
        "fanout": quantiles(watcher.fanout_ms),
        "end_to_end": {k: round(v, 1) for k, v in end_to_end.items() if k.endswith("_ms")},
        "spikes": watcher.spikes(),
        # Cores each process used while measured (the window includes the few seconds of draining at the end).
        "cores": {name: round(v / elapsed, 3) for name, v in used.items() if name != "machine_total"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-per-s", type=float, default=110.0, help="each event fans out to 10 webhooks")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds at the same rate before measuring")
    args = parser.parse_args()
    started = time.monotonic()
    with start_servers() as servers:
        result = asyncio.run(measure(servers, args.events_per_s, args.seconds, args.dispatchers, args.warmup))
    for stage in ("ingest", "fanout", "end_to_end"):
        print(f"{stage:<12}{json.dumps(result[stage])}")
    spikes = result.pop("spikes")
    assert isinstance(spikes, list)
    print("seconds with a stage over 200 ms:", ", ".join(spikes) or "none")
    cores = result.pop("cores")
    assert isinstance(cores, dict)
    print("cores used:", ", ".join(f"{name} {v}" for name, v in cores.items()))
    print(f"({time.monotonic() - started:.0f} s in all)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
