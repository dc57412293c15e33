"""`make bench`: the whole platform as separate processes on real Kafka and MongoDB, measured end to end.

Prints a table (with the CPU-seconds each process spent per 1,000 deliveries while saturated), then one last
line of JSON, also written to bench/results/latest.json:
{"deliveries_per_s", "baseline_per_s", "ratio", "p50_ms", "p99_ms", "fanout_10k_s"}.

`--scaling` (make bench-scaling) saturates with one dispatcher process, then with two, and prints
{"deliveries_per_s_1", "deliveries_per_s_2", "scaling_factor"} (also bench/results/scaling.json).
`--profile` records py-spy profiles of the services while saturated (bench/results/profile-*.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HOOKLINE_TEST_SLOT", "8")

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench.baseline import baseline_per_s
from bench.cpu import CpuWindow, per_thousand
from hookline import documents, kafka, mongo, signing, topics, webhooks
from hookline.ids import new_id
from hookline.messages import ProducerEvent, SigningKey
from hookline.secret_box import SecretBox
from tests.platform import Platform, free_port
from tests.servers import TEST_MASTER_KEY, TEST_STATE, Servers, start_servers

EVENT_TYPE = "bench.event"


async def make_tenant(servers: Servers, receiver_url: str, webhook_count: int) -> str:
    """An organization, its event type, and `webhook_count` webhooks to the receiver, as the API would."""
    client = mongo.connect(servers.mongo_url)
    db = mongo.database(client)
    box = SecretBox(TEST_MASTER_KEY)
    org = new_id("org")
    now = datetime.now(UTC)
    await db[documents.ORGANIZATIONS].insert_one({"_id": org, "name": "bench", "created_at": now})
    await db[documents.EVENT_TYPES].insert_one(
        {
            "_id": new_id("et"),
            "organization_id": org,
            "name": EVENT_TYPE,
            "description": "",
            "schema": None,
            "created_at": now,
        }
    )
    hooks = []
    for i in range(webhook_count):
        wid = new_id("wh")
        secret = signing.generate_secret("standard")
        hooks.append(
            webhooks.Webhook(
                id=wid,
                organization_id=org,
                url=f"{receiver_url}/h{i % 100}",
                events=[EVENT_TYPE],
                signing_keys=[SigningKey(sealed=box.seal(secret, context=wid))],
                created_at=now,
                updated_at=now,
            )
        )
    for start in range(0, len(hooks), 1000):
        await db[documents.WEBHOOKS].insert_many([webhooks.to_document(h) for h in hooks[start : start + 1000]])
    producer = await kafka.start_producer(servers.kafka_bootstrap, linger_ms=20)
    try:
        futures = [
            await producer.send(topics.ENDPOINTS, msgspec.json.encode(webhooks.to_config(h)), key=h.id.encode())
            for h in hooks
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
        await client.close()
    return org


def event_bytes(org: str, i: int) -> bytes:
    event = ProducerEvent(type=EVENT_TYPE, organization_id=org, data={"i": i, "t0": time.time()})
    return msgspec.json.encode(event)


_control: dict[int, httpx.AsyncClient] = {}


def _control_client() -> httpx.AsyncClient:
    """One client per event loop for the receiver's control routes: a new client (and TLS context) per poll
    cost the load generator more CPU than producing."""
    loop = id(asyncio.get_running_loop())
    client = _control.get(loop)
    if client is None:
        client = _control[loop] = httpx.AsyncClient(timeout=30)
    return client


async def receiver_stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = (await _control_client().get(f"{url}/stats")).json()
    return stats


async def reset_receiver(url: str) -> None:
    await _control_client().post(f"{url}/reset")


async def saturate(
    servers: Servers,
    org: str,
    receiver: str,
    fanout: int,
    seconds: float,
    warmup: float,
    cpu: CpuWindow,
    profile: Profiler | None = None,
) -> tuple[float, dict[str, float]]:
    """Deliveries per second while producers keep a backlog in front of the pipeline, and CPU-s per 1,000."""
    producer = await kafka.start_producer(servers.kafka_bootstrap, linger_ms=10)
    stop = asyncio.Event()
    produced = 0

    async def produce() -> None:
        nonlocal produced
        while not stop.is_set():
            delivered = (await receiver_stats(receiver))["count"]
            # Keep about 20,000 deliveries of backlog: saturation without an unbounded queue.
            room = 20_000 - (produced * fanout - delivered)
            for _ in range(max(0, room // fanout)):
                await producer.send(topics.INGEST, event_bytes(org, produced), key=org.encode())
                produced += 1
            await producer.flush()
            await asyncio.sleep(0.2)

    task = asyncio.create_task(produce())
    try:
        await asyncio.sleep(warmup)
        start = await receiver_stats(receiver)
        cpu.start()
        if profile is not None:
            profile.start(seconds)
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        end = await receiver_stats(receiver)
        used = cpu.stop()
        elapsed = time.monotonic() - t0
        rate = (end["count"] - start["count"]) / elapsed
    finally:
        stop.set()
        await task
        await producer.stop()
        if profile is not None:
            profile.wait()
    return float(rate), per_thousand(used, end["count"] - start["count"]) | {
        "machine_busy_cores": used["machine_busy"] / elapsed,
    }


async def drain(receiver: str, quiet_seconds: float = 3.0, timeout: float = 300.0) -> None:
    """Waits until the receiver has seen nothing new for `quiet_seconds`."""
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = (await receiver_stats(receiver))["count"]
        if count != last:
            last, still_since = count, time.monotonic()
        elif time.monotonic() - still_since >= quiet_seconds:
            return
        await asyncio.sleep(0.25)


async def latency(servers: Servers, org: str, receiver: str, events_per_s: float, seconds: float) -> dict[str, Any]:
    await reset_receiver(receiver)
    producer = await kafka.start_producer(servers.kafka_bootstrap, linger_ms=0)
    try:
        interval = 1.0 / events_per_s
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:
            due = start + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(topics.INGEST, event_bytes(org, i), key=org.encode())
            i += 1
        await producer.flush()
    finally:
        await producer.stop()
    await drain(receiver)
    return await receiver_stats(receiver)


async def fanout_10k(servers: Servers, receiver: str) -> float:
    """Seconds from publishing one event to the 10,000th delivery task being on hookline.deliveries."""
    org = await make_tenant(servers, receiver, 10_000)
    consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.DELIVERIES, p) for p in range(12)]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, ends[tp])
        await asyncio.sleep(2)  # let the fan-out apply 10,000 new endpoint configs
        producer = await kafka.start_producer(servers.kafka_bootstrap)
        started = time.monotonic()
        await producer.send_and_wait(topics.INGEST, event_bytes(org, 0), key=org.encode())
        await producer.stop()
        seen = 0
        marker = org.encode()
        async with asyncio.timeout(300):
            while seen < 10_000:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                seen += sum(1 for msgs in batch.values() for m in msgs if m.value and marker in m.value)
        return time.monotonic() - started
    finally:
        await consumer.stop()


class Profiler:
    """py-spy on every service process for the saturation window; flame graphs land in bench/results/."""

    def __init__(self, pids: dict[str, int], out: Path) -> None:
        self._pids = pids
        self._out = out
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self, seconds: float) -> None:
        py_spy = Path(sys.executable).with_name("py-spy")
        self._out.mkdir(parents=True, exist_ok=True)
        for name, pid in self._pids.items():
            argv = [str(py_spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "50", "--nonblocking"]
            for fmt, suffix in (("raw", "txt"),):
                target = self._out / f"profile-{name}.{suffix}"
                self._procs.append(
                    subprocess.Popen(
                        [*argv, "-f", fmt, "-o", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                )

    def wait(self) -> None:
        for proc in self._procs:
            proc.wait(timeout=120)


def server_pids(servers: Servers) -> dict[str, int]:
    """Kafka's and the MongoDB-wire server's pids, when the bench started them itself."""
    if servers.stack is None:
        return {}
    pids = {}
    for name in ("kafka", "mongo"):
        with contextlib.suppress(OSError, ValueError):
            pids[name] = int(servers.stack.layout.pid_file(name).read_text().strip())
    return pids


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[tuple[str, int]]:
    """The loopback receiver in a process of its own; yields its URL and pid."""
    rport = free_port()
    receiver = f"http://127.0.0.1:{rport}"
    recv = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), "--port", str(rport)])
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                await receiver_stats(receiver)
                break
            await asyncio.sleep(0.05)
        yield receiver, recv.pid
    finally:
        recv.terminate()
        recv.wait(timeout=10)


async def dispatcher_pauses(platform: Platform) -> float:
    """Partitions paused so far on a full window, summed over the dispatchers (their /metrics)."""
    total = 0.0
    for name in platform.procs:
        if name.startswith("dispatcher"):
            text = (await _control_client().get(f"{platform.url(name)}/metrics")).text
            for family in text_string_to_metric_families(text):
                if family.name == "hookline_dispatcher_partition_pauses":
                    total += sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return total


def start_platform(servers: Servers, dispatchers: int) -> Platform:
    platform = Platform(servers, log_dir=Path(TEST_STATE) / "logs" / "bench")
    for name in ("subscription-api", "event-ingest", "fan-out"):
        platform.start(name)
    for n in range(dispatchers):
        platform.start(f"dispatcher-{n}", service="dispatcher")
    for name in platform.procs:
        platform.wait_ready(name)
    return platform


async def saturate_platform(
    servers: Servers, platform: Platform, receiver: tuple[str, int], seconds: float, profile: bool
) -> tuple[str, float, dict[str, float]]:
    """A fresh tenant of 10 webhooks, saturated: (organization id, deliveries/s, CPU-s per 1k per process)."""
    url, receiver_pid = receiver
    org = await make_tenant(servers, url, 10)
    dispatchers = sum(1 for name in platform.procs if name.startswith("dispatcher"))
    print(f"saturating with {dispatchers} dispatcher(s) ({seconds:.0f} s after a 10 s warm-up)…", flush=True)
    pids = {name: proc.pid for name, proc in platform.procs.items() if name != "subscription-api"}
    profiler = Profiler(dict(pids), ROOT / "bench" / "results") if profile else None
    pids |= {"receiver": receiver_pid, "load-generator": os.getpid()} | server_pids(servers)
    rate, cpu = await saturate(servers, org, url, 10, seconds, 10, CpuWindow(pids), profiler)
    await drain(url)
    return org, rate, cpu


async def run(servers: Servers, dispatchers: int, seconds: float, profile: bool = False) -> dict[str, Any]:
    async with running_receiver() as (receiver, receiver_pid):
        print("measuring the httpx baseline (15 s)…", flush=True)
        baseline = await baseline_per_s(f"{receiver}/baseline", seconds=15)
        await reset_receiver(receiver)
        platform = start_platform(servers, dispatchers)
        try:
            org, rate, cpu = await saturate_platform(servers, platform, (receiver, receiver_pid), seconds, profile)
            print("latency at half that rate (30 s)…", flush=True)
            paused_before = await dispatcher_pauses(platform)
            lat = await latency(servers, org, receiver, max(1.0, rate / 2 / 10), 30)
            paused = await dispatcher_pauses(platform) - paused_before
            print("fan-out of one event to 10,000 webhooks…", flush=True)
            fan = await fanout_10k(servers, receiver)
        finally:
            platform.stop_all()
    return {
        "deliveries_per_s": round(rate, 1),
        "baseline_per_s": round(baseline, 1),
        "ratio": round(rate / baseline, 3) if baseline else 0.0,
        "p50_ms": round(lat["p50_ms"], 1),
        "p99_ms": round(lat["p99_ms"], 1),
        "max_ms": round(lat["max_ms"], 1),
        # Partitions paused on a full window during the latency phase: each pause holds that partition's tasks.
        "latency_pauses": int(paused),
        "fanout_10k_s": round(fan, 2),
        "dispatchers": dispatchers,
        "cpu_s_per_1k": {k: round(v, 3) for k, v in cpu.items()},
    }


async def scaling(servers: Servers, seconds: float) -> dict[str, Any]:
    """Saturated deliveries/s with one dispatcher process, then with two, on the same servers and receiver."""
    rates: dict[int, float] = {}
    cpu: dict[str, float] = {}
    async with running_receiver() as receiver:
        for dispatchers in (1, 2):
            await reset_receiver(receiver[0])
            platform = start_platform(servers, dispatchers)
            try:
                _org, rates[dispatchers], used = await saturate_platform(servers, platform, receiver, seconds, False)
            finally:
                platform.stop_all()
            # What else the machine ran meanwhile: on a shared machine the factor means little without it.
            wanted = ("dispatcher", "others_on_machine", "all_bench_processes")
            cpu |= {f"{name} ({dispatchers}d)": round(v, 3) for name, v in used.items() if name.startswith(wanted)}
    return {
        "deliveries_per_s_1": round(rates[1], 1),
        "deliveries_per_s_2": round(rates[2], 1),
        "scaling_factor": round(rates[2] / rates[1], 2) if rates[1] else 0.0,
        "cpu_s_per_1k": cpu,
    }


def print_cpu(cpu: dict[str, float]) -> None:
    print()
    print(f"{'CPU-s per 1k deliveries (saturated)':<40}{'':>6}")
    for name, value in cpu.items():
        print(f"{name:<40}{value:>6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window at saturation")
    parser.add_argument("--profile", action="store_true", help="py-spy the services while saturated")
    parser.add_argument("--scaling", action="store_true", help="saturate with 1, then 2 dispatchers; the factor")
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    # The servers start outside the event loop: their start-up runs a loop of its own.
    with start_servers() as servers:
        if args.scaling:
            result = asyncio.run(scaling(servers, args.seconds))
        else:
            result = asyncio.run(run(servers, args.dispatchers, args.seconds, args.profile))
    cpu = result.pop("cpu_s_per_1k")
    print()
    print(f"{'figure':<22}{'value':>12}")
    for name, value in result.items():
        print(f"{name:<22}{value:>12}")
    print_cpu(cpu)
    if args.scaling:
        (out / "scaling.json").write_text(json.dumps(result) + "\n")
        print(json.dumps(result))
        return
    summary = {
        k: result[k] for k in ("deliveries_per_s", "baseline_per_s", "ratio", "p50_ms", "p99_ms", "fanout_10k_s")
    }
    (out / "latest.json").write_text(json.dumps(summary) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
