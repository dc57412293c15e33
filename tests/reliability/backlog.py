"""What "nothing left in any backlog" means, measured on the real servers.

1. Kafka: every consumer group of the pipeline has committed every partition of its topics up to the log end
   (lag 0): `hookline-ingest` on `hookline.ingest`, `hookline-fanout` on `hookline.events`,
   `hookline-dispatcher` on `hookline.deliveries`, `hookline-retry-relay` on every retry tier. A partition that
   holds messages but has no committed offset counts its whole length as lag.
2. MongoDB: every delivery of the scenario's organization has a delivery document and it says `succeeded`
   (none `pending`, i.e. waiting for a retry, and none `failed`, i.e. dead-lettered or dropped).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, topics
from hookline.mongo import Document
from hookline.retry_schedule import RETRY_TIERS

GROUPS: dict[str, list[str]] = {
    "hookline-ingest": [topics.INGEST],
    "hookline-fanout": [topics.EVENTS],
    "hookline-dispatcher": [topics.DELIVERIES],
    "hookline-retry-relay": [topics.retry_topic(t) for t in RETRY_TIERS],
}


@dataclass(frozen=True)
class Backlog:
    lag: dict[str, int]  # group -> messages not yet committed, summed over its partitions
    statuses: dict[str, int]  # delivery status -> count, for the organization
    expected_deliveries: int

    @property
    def empty(self) -> bool:
        return (
            not any(self.lag.values())
            and set(self.statuses) <= {"succeeded"}
            and self.statuses.get("succeeded", 0) == self.expected_deliveries
        )


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    ends_reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10000)
    await admin.start()
    await ends_reader.start()
    try:
        described = await admin.describe_topics([name for names in GROUPS.values() for name in names])
        partitions_of = {t["topic"]: sorted(int(p["partition"]) for p in t["partitions"]) for t in described}
        lag: dict[str, int] = {}
        for group, names in GROUPS.items():
            partitions = [TopicPartition(name, p) for name in names for p in partitions_of[name]]
            ends = await ends_reader.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group)
            lag[group] = sum(max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items())
        return lag
    finally:
        await ends_reader.stop()
        await admin.close()


async def delivery_statuses(db: AsyncDatabase[Document], organization_id: str) -> dict[str, int]:
    """Deliveries by status, as `hookline.delivery_status` reads them: a delivery whose first attempt succeeded
    has no status document, only that attempt, and a succeeded attempt wins over a status document."""
    attempts = db[documents.ATTEMPTS]
    succeeded = {
        str(d)
        for d in await attempts.distinct("delivery_id", {"organization_id": organization_id, "status": "succeeded"})
    }
    counts: dict[str, int] = {}
    async for doc in db[documents.DELIVERIES].find({"organization_id": organization_id}, {"status": 1}):
        if str(doc["_id"]) not in succeeded:
            counts[str(doc["status"])] = counts.get(str(doc["status"]), 0) + 1
    if succeeded:
        counts["succeeded"] = counts.get("succeeded", 0) + len(succeeded)
    return counts


async def measure(
    bootstrap: str, db: AsyncDatabase[Document], organization_id: str, expected_deliveries: int
) -> Backlog:
    """Kafka first: while a group still has lag, the (slower) count of statuses would not change the answer."""
    lag = await consumer_lag(bootstrap)
    statuses = await delivery_statuses(db, organization_id) if not any(lag.values()) else {}
    return Backlog(lag, statuses, expected_deliveries)


async def wait_until_empty(
    bootstrap: str, db: AsyncDatabase[Document], organization_id: str, expected_deliveries: int, timeout: float
) -> Backlog:
    deadline = time.monotonic() + timeout
    last: Backlog | None = None
    while time.monotonic() < deadline:
        try:
            began = time.monotonic()
            last = await measure(bootstrap, db, organization_id, expected_deliveries)
            print(f"backlog measured in {time.monotonic() - began:.1f}s: {last.lag} {last.statuses}")
        except Exception as exc:  # a measurement that fails is retried, the deadline still holds
            print(f"backlog measurement failed: {type(exc).__name__}: {exc}")
        else:
            if last.empty:
                return last
        await asyncio.sleep(1.0)
    raise AssertionError(f"backlog not empty after {timeout:.0f}s: {last}")
