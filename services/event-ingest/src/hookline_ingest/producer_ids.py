"""Producer-id dedup: the first writer of (organization, producer id) within 24 h wins, across instances.

A record in `event_ids` holds the winning `evt_` id, its `created_at` and a `published` flag. The first
writer stores and publishes the event and then sets the flag. A duplicate that finds the flag unset is
`pending`: once the caller has published its own winners (never before, or two instances could wait on each
other), it waits in `settle` for the flag while the writer's lease lasts; if the lease runs out (the writer
crashed between recording and publishing), the duplicate takes the lease over and publishes the event again
under the SAME id, so an event is never lost and downstream duplicates share their ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from hookline import documents, ids
from hookline.mongo import Document

DEDUP_WINDOW = timedelta(hours=24)
LEASE = timedelta(seconds=10)
POLL_SECONDS = 0.05


class Claim(msgspec.Struct, frozen=True):
    """The outcome of claiming a producer id: `publish` says whether this caller must publish the event."""

    record_id: Any
    event_id: str
    created_at: datetime
    publish: bool
    duplicate: bool
    # Another writer holds the record and has not published yet: call `settle` after publishing your own.
    pending: bool = False


def now_ms() -> datetime:
    """Now, to the millisecond: what MongoDB stores, so times read back equal the times written."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ProducerIdLedger:
    def __init__(self, db: AsyncDatabase[Document], *, lease: timedelta = LEASE) -> None:
        self._records = db[documents.EVENT_IDS]
        self._lease = lease

    async def claim(self, organization_id: str, producer_id: str) -> Claim:
        now = now_ms()
        fresh = ids.new_id("evt")
        record = await self._upsert(organization_id, producer_id, fresh, now)
        if record["event_id"] == fresh:
            return Claim(record["_id"], fresh, now, publish=True, duplicate=False)
        if _as_utc(record["expires_at"]) <= now:
            renewed = await self._renew_expired(record, fresh, now)
            if renewed is not None:
                return renewed
            return await self.claim(organization_id, producer_id)
        if record.get("published"):
            return Claim(record["_id"], record["event_id"], _as_utc(record["created_at"]), False, True)
        return Claim(record["_id"], record["event_id"], _as_utc(record["created_at"]), False, True, pending=True)

    async def settle(self, claim: Claim, organization_id: str, producer_id: str) -> Claim:
        """A pending claim, once the other writer published (publish=False) or its lease ran out (publish=True)."""
        while True:
            record = await self._records.find_one({"_id": claim.record_id})
            if record is not None:
                with contextlib.suppress(LookupError):
                    return await self._await_publication(record)
            # Swept away meanwhile: the id is outside its window, so this event is new.
            claim = await self.claim(organization_id, producer_id)
            if not claim.pending:
                return claim

    async def mark_published(self, record_ids: Iterable[Any]) -> None:
        pending = list(record_ids)
        if pending:
            await self._records.update_many({"_id": {"$in": pending}}, {"$set": {"published": True}})

    async def _upsert(self, organization_id: str, producer_id: str, fresh: str, now: datetime) -> Document:
        fields = {
            "event_id": fresh,
            "published": False,
            "claimed_until": now + self._lease,
            "created_at": now,
            "expires_at": now + DEDUP_WINDOW,
        }
        identity = {"organization_id": organization_id, "producer_id": producer_id}
        for _ in range(5):
            try:
                # Found by `_id`: FerretDB's SQLite backend uses no secondary index, so a lookup by the two
                # fields scans the whole collection (200 ms at 3,000 records), while one by `_id` does not.
                record = await self._records.find_one_and_update(
                    {"_id": record_key(organization_id, producer_id)},
                    {"$setOnInsert": {**identity, **fields}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Two upserts raced to insert (one got through), or a record written before records were keyed
                # by `_id` holds the pair under the unique index: read whichever it is.
                legacy = await self._records.find_one(identity)
                if legacy is not None:
                    return legacy
                continue
            assert record is not None
            return record
        raise RuntimeError("could not record the producer id")

    async def _renew_expired(self, record: Document, fresh: str, now: datetime) -> Claim | None:
        """A record past its window that the sweeper has not removed yet counts as absent."""
        renewed = await self._records.find_one_and_update(
            {"_id": record["_id"], "event_id": record["event_id"]},
            {
                "$set": {
                    "event_id": fresh,
                    "published": False,
                    "claimed_until": now + self._lease,
                    "created_at": now,
                    "expires_at": now + DEDUP_WINDOW,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if renewed is None or renewed["event_id"] != fresh:
            return None
        return Claim(renewed["_id"], fresh, now, publish=True, duplicate=False)

    async def _await_publication(self, record: Document) -> Claim:
        deadline = time.monotonic() + self._lease.total_seconds() * 2
        while True:
            created_at = _as_utc(record["created_at"])
            if record.get("published"):
                return Claim(record["_id"], record["event_id"], created_at, publish=False, duplicate=True)
            lease_end = _as_utc(record["claimed_until"])
            now = now_ms()
            if lease_end <= now:
                taken = await self._records.find_one_and_update(
                    {"_id": record["_id"], "published": False, "claimed_until": record["claimed_until"]},
                    {"$set": {"claimed_until": now + self._lease}},
                    return_document=ReturnDocument.AFTER,
                )
                if taken is not None:
                    return Claim(record["_id"], record["event_id"], created_at, publish=True, duplicate=True)
            if time.monotonic() > deadline:
                raise TimeoutError("the first writer of this producer id neither published nor let its lease expire")
            await asyncio.sleep(POLL_SECONDS)
            found = await self._records.find_one({"_id": record["_id"]})
            if found is None:
                # Swept away meanwhile: the id is outside its window, so this one is new.
                raise LookupError("dedup record vanished")
            record = found


def record_key(organization_id: str, producer_id: str) -> str:
    """The `_id` of a producer id's record: organization ids hold no `:`, so the pair is unambiguous."""
    return f"{organization_id}:{producer_id}"


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
