"""One reliability scenario: load, a fault part-way through, then the checks every scenario shares.

The fault starts once a fifth of the deliveries have arrived (a condition, not a sleep), while events are still
being published. Then the runner waits, each time for a condition with a deadline, until every (event, webhook)
pair was delivered and every backlog is empty (see `backlog.py`), and checks that the service processes that
were not killed on purpose are the same ones, still running and ready. Each scenario's figures are printed and
merged into `.hookline/reliability/results.json`.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability import backlog
from tests.reliability.tally import DeliveryTally
from tests.reliability.workload import Publisher, Tenant
from tests.servers import ROOT

RESULTS = ROOT / ".hookline" / "reliability" / "results.json"
FAULT_AT_SHARE = 0.2
DELIVERY_TIMEOUT = 600.0
BACKLOG_TIMEOUT = 300.0
READY_TIMEOUT = 120.0

Fault = Callable[[], Awaitable[None]]


@dataclass
class Outcome:
    scenario: str
    wall_seconds: float
    tally: DeliveryTally
    final: backlog.Backlog
    publisher: Publisher

    def summary(self) -> dict[str, object]:
        return {
            "deliveries_expected": self.tally.expected,
            "pairs_delivered": self.tally.pairs_delivered,
            "successful_requests": self.tally.successes,
            "duplicates": self.tally.duplicates,
            "failed_answers": self.tally.failed_answers,
            "wall_seconds": round(self.wall_seconds, 1),
            "kafka_publish_retries": self.publisher.kafka_retries,
            "http_publish_retries": self.publisher.http_retries,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


async def wait_for(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what()}")
        await asyncio.sleep(0.25)


async def run_scenario(
    name: str,
    platform: Platform,
    receiver: Receiver,
    tenant: Tenant,
    db: AsyncDatabase[Document],
    fault: Fault,
    *,
    restarted: frozenset[str] = frozenset(),
) -> Outcome:
    """Runs the scenario and records its figures, or that it failed and why."""
    started = time.monotonic()
    try:
        outcome = await _run(name, platform, receiver, tenant, db, fault, restarted)
    except BaseException as exc:
        record(
            name,
            {
                "passed": False,
                "error": f"{type(exc).__name__}: {str(exc)[:500]}",
                "wall_seconds": round(time.monotonic() - started, 1),
            },
        )
        raise
    return outcome


async def _run(
    name: str,
    platform: Platform,
    receiver: Receiver,
    tenant: Tenant,
    db: AsyncDatabase[Document],
    fault: Fault,
    restarted: frozenset[str],
) -> Outcome:
    pids = {label: proc.pid for label, proc in platform.procs.items()}
    tally = DeliveryTally(receiver, tenant.secrets, events=0)
    publisher = Publisher(platform, tenant, name)
    tally.events = publisher.events
    started = time.monotonic()
    publishing = asyncio.create_task(publisher.run())
    try:
        await wait_for(
            lambda: publishing.done() or tally.update().pairs_delivered >= FAULT_AT_SHARE * tally.expected,
            DELIVERY_TIMEOUT,
            lambda: f"a fifth of the deliveries before the fault ({tally.pairs_delivered} arrived)",
        )
        if publishing.done():
            publishing.result()
        print(f"[{name}] fault at {tally.pairs_delivered} deliveries, {time.monotonic() - started:.1f}s in")
        await fault()
        print(f"[{name}] fault over at {time.monotonic() - started:.1f}s; {tally.update().pairs_delivered} delivered")
        await asyncio.wait_for(asyncio.shield(publishing), DELIVERY_TIMEOUT)
        print(f"[{name}] published at {time.monotonic() - started:.1f}s; {tally.update().pairs_delivered} delivered")
        await wait_for(
            tally.complete,
            DELIVERY_TIMEOUT,
            lambda: f"every pair ({tally.pairs_delivered} of {tally.expected}; missing e.g. {tally.missing(5)})",
        )
        print(f"[{name}] every pair delivered at {time.monotonic() - started:.1f}s")
        final = await backlog.wait_until_empty(
            platform.servers.kafka_bootstrap, db, tenant.organization_id, tally.expected, BACKLOG_TIMEOUT
        )
    finally:
        if not publishing.done():
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
    wall = time.monotonic() - started
    await asyncio.to_thread(platform.wait_all_ready, READY_TIMEOUT)  # every service ready again, on its own
    outcome = Outcome(name, wall, tally.update(), final, publisher)
    print(f"[{name}] {json.dumps(outcome.summary())}")
    assert tally.problems() == []
    for label, pid in pids.items():
        proc = platform.procs[label]
        assert proc.poll() is None, f"{label} exited with {proc.returncode}"
        if label not in restarted:
            assert proc.pid == pid, f"{label} was replaced; it should have recovered in place"
    record(name, {"passed": True, **outcome.summary()})
    return outcome


def record(name: str, summary: dict[str, object], path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # `make test-reliability` runs two sessions side by side: one writer at a time.
    with (path.parent / "results.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results: dict[str, object] = json.loads(path.read_text()) if path.is_file() else {}
        results[name] = summary
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
