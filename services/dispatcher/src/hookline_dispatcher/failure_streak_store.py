"""Each failing webhook's streak and breaker in MongoDB, so a restart or a rebalance does not reset them.

Collection `webhook_failure_streaks`, one document per webhook that is failing, keyed by webhook id:
`{_id, failures, started_at, breaker_failures, breaker_open_until, breaker_cooldown_seconds, updated_at}`; a
webhook whose streak ended has none. Only single-document writes (FerretDB v1 has no transactions): a batch of
`replace_one(upsert)` and `delete_one` by `_id`, sent unordered in one `bulk_write`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo import DeleteOne, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document

COLLECTION = "webhook_failure_streaks"


@dataclass(frozen=True)
class StreakSnapshot:
    """What the next owner of a webhook needs to continue its health state; times are unix seconds."""

    failures: int
    started_at: float | None
    breaker_failures: int
    breaker_open_until: float | None
    breaker_cooldown_seconds: float


def _to_document(webhook_id: str, snapshot: StreakSnapshot, now: datetime) -> Document:
    return {
        "_id": webhook_id,
        "failures": snapshot.failures,
        "started_at": _datetime(snapshot.started_at),
        "breaker_failures": snapshot.breaker_failures,
        "breaker_open_until": _datetime(snapshot.breaker_open_until),
        "breaker_cooldown_seconds": snapshot.breaker_cooldown_seconds,
        "updated_at": now,
    }


def _from_document(doc: Document) -> StreakSnapshot:
    return StreakSnapshot(
        failures=int(doc.get("failures", 0)),
        started_at=_seconds(doc.get("started_at")),
        breaker_failures=int(doc.get("breaker_failures", 0)),
        breaker_open_until=_seconds(doc.get("breaker_open_until")),
        breaker_cooldown_seconds=float(doc.get("breaker_cooldown_seconds", 0.0)),
    )


def _datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(value: object) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


class FailureStreakStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db[COLLECTION]

    async def load(self, webhook_id: str) -> StreakSnapshot | None:
        doc = await self._collection.find_one({"_id": webhook_id})
        return None if doc is None else _from_document(doc)

    async def save(self, changes: dict[str, StreakSnapshot | None]) -> None:
        """Stores each webhook's snapshot, or removes its document where the snapshot is None (streak over)."""
        if not changes:
            return
        now = datetime.now(UTC)
        operations: list[ReplaceOne[Document] | DeleteOne] = [
            DeleteOne({"_id": webhook_id})
            if snapshot is None
            else ReplaceOne({"_id": webhook_id}, _to_document(webhook_id, snapshot, now), upsert=True)
            for webhook_id, snapshot in changes.items()
        ]
        await self._collection.bulk_write(operations, ordered=False)
