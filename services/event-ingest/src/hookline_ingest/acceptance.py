"""Accepting checked events: dedup by producer id, store in `events`, publish to `hookline.events`.

Work is done for many events at once (one HTTP batch, one Kafka poll): the database round trips run
concurrently and the publishes are sent without waiting for each, in input order, then awaited together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
from aiokafka import AIOKafkaProducer
from bson.errors import InvalidDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError, WriteError

from hookline import documents, ids, topics
from hookline.messages import EventEnvelope, ProducerEvent
from hookline.mongo import Document
from hookline_ingest.errors import UNPROCESSABLE, InvalidEvent
from hookline_ingest.event_checks import EventChecks
from hookline_ingest.producer_ids import Claim, ProducerIdLedger, now_ms

T = TypeVar("T")
DUPLICATE_KEY = 11000
# Database operations one acceptor has in flight at once, below PyMongo's connection pool (100): when more wait
# for a connection at the moment the server restarts, PyMongo's async pool stays paused and every later
# operation fails or hangs (seen with PyMongo 4.20 against a restarted FerretDB: the ingest stopped for good).
DB_CONCURRENCY = 64


class Accepted(msgspec.Struct, frozen=True):
    id: str
    duplicate: bool = False


Outcome = Accepted | InvalidEvent


class Stamp(msgspec.Struct, frozen=True):
    """The id and time an event without a producer id gets when its source can say them again on redelivery
    (a Kafka message's topic, partition, offset and timestamp), so a redelivered message keeps its id."""

    id: str
    created_at: datetime


class _Pending(msgspec.Struct):
    index: int
    event: ProducerEvent
    claim: Claim | None = None


class EventAcceptor:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        producer: AIOKafkaProducer,
        checks: EventChecks,
        ledger: ProducerIdLedger,
        *,
        retention_days: int,
    ) -> None:
        self._events = db[documents.EVENTS]
        self._producer = producer
        self._checks = checks
        self._ledger = ledger
        self._retention = retention_days
        self._db_slots = asyncio.Semaphore(DB_CONCURRENCY)

    async def accept(
        self, events: Sequence[ProducerEvent], stamps: Sequence[Stamp | None] | None = None
    ) -> list[Outcome]:
        """One outcome per event, in order. Raises only when MongoDB or Kafka fail (nothing is then lost:
        the caller retries or answers 5xx, and a retried event keeps its id through the ledger)."""
        outcomes: list[Outcome | None] = [None] * len(events)
        checked = await asyncio.gather(*(self._bounded(self._check(e)) for e in events))
        pending: list[_Pending] = []
        for i, (event, problem) in enumerate(zip(events, checked, strict=True)):
            if problem is None:
                pending.append(_Pending(i, event))
            else:
                outcomes[i] = problem
        claims = await asyncio.gather(*(self._bounded(self._claim(p.event)) for p in pending))
        waiting: list[_Pending] = []
        to_publish: list[tuple[_Pending, EventEnvelope]] = []
        for item, claim in zip(pending, claims, strict=True):
            item.claim = claim
            if claim is None:
                stamp = stamps[item.index] if stamps is not None else None
                if stamp is None:
                    stamp = Stamp(ids.new_id("evt"), now_ms())
                to_publish.append((item, self._envelope(item.event, stamp.id, stamp.created_at)))
            elif claim.pending:
                waiting.append(item)
            elif claim.publish:
                to_publish.append((item, self._envelope(item.event, claim.event_id, claim.created_at)))
            else:
                outcomes[item.index] = Accepted(claim.event_id, duplicate=True)
        await self._store_and_publish(to_publish, outcomes)
        # Only now, with this call's own winners published, wait on other writers' (see producer_ids).
        if waiting:
            settled = await asyncio.gather(*(self._bounded(self._settle(item)) for item in waiting))
            await self._store_and_publish(
                [(item, self._envelope(item.event, c.event_id, c.created_at)) for item, c in settled if c.publish],
                outcomes,
            )
            for item, claim in settled:
                if not claim.publish:
                    outcomes[item.index] = Accepted(claim.event_id, duplicate=claim.duplicate)
        return [o for o in outcomes if o is not None]

    async def _bounded(self, work: Awaitable[T]) -> T:
        async with self._db_slots:
            return await work

    async def _settle(self, item: _Pending) -> tuple[_Pending, Claim]:
        assert item.claim is not None and item.event.id is not None
        item.claim = await self._ledger.settle(item.claim, item.event.organization_id, item.event.id)
        return item, item.claim

    async def _store_and_publish(
        self, to_publish: list[tuple[_Pending, EventEnvelope]], outcomes: list[Outcome | None]
    ) -> None:
        unstorable = await self._store([(item.event, envelope) for item, envelope in to_publish])
        for position in sorted(unstorable, reverse=True):
            item, _ = to_publish.pop(position)
            outcomes[item.index] = InvalidEvent(UNPROCESSABLE, "the event could not be stored; check `data`'s keys")
        await self._publish([envelope for _, envelope in to_publish])
        await self._ledger.mark_published(item.claim.record_id for item, _ in to_publish if item.claim is not None)
        for item, envelope in to_publish:
            duplicate = item.claim.duplicate if item.claim is not None else False
            outcomes[item.index] = Accepted(envelope.id, duplicate=duplicate)

    async def _check(self, event: ProducerEvent) -> InvalidEvent | None:
        try:
            await self._checks.check(event)
        except InvalidEvent as problem:
            return problem
        except PyMongoError:
            raise  # the database is failing, not the event: the caller retries
        except Exception as exc:
            # A schema or payload the checker cannot evaluate (a broken stored schema, say) is refused, not
            # retried forever.
            return InvalidEvent(UNPROCESSABLE, f"the event could not be checked: {type(exc).__name__}")
        return None

    async def _claim(self, event: ProducerEvent) -> Claim | None:
        if event.id is None:
            return None
        return await self._ledger.claim(event.organization_id, event.id)

    @staticmethod
    def _envelope(event: ProducerEvent, event_id: str, created_at: datetime) -> EventEnvelope:
        return EventEnvelope(
            id=event_id,
            type=event.type,
            created_at=created_at,
            organization_id=event.organization_id,
            session_id=event.session_id,
            data=event.data,
        )

    async def _store(self, items: list[tuple[ProducerEvent, EventEnvelope]]) -> set[int]:
        """Stores the events; returns the positions of those the server refused as documents."""
        if not items:
            return set()
        docs = [
            {
                "_id": envelope.id,
                "organization_id": envelope.organization_id,
                "type": envelope.type,
                "session_id": envelope.session_id,
                "data": envelope.data,
                "created_at": envelope.created_at,
                "occurred_at": event.occurred_at,
                "producer_id": event.id,
                "expires_at": envelope.created_at + timedelta(days=self._retention),
            }
            for event, envelope in items
        ]
        try:
            await self._events.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            # An event published again after a crash is already stored: fine. Other write errors concern one
            # document (a key MongoDB refuses, say): that event is refused rather than retried forever.
            return {int(e["index"]) for e in exc.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY}
        except (InvalidDocument, OverflowError):
            # One document BSON cannot hold (an integer past 64 bits, say): find which, one at a time.
            return await self._store_one_by_one(docs)
        return set()

    async def _store_one_by_one(self, docs: list[Document]) -> set[int]:
        refused: set[int] = set()
        for position, doc in enumerate(docs):
            try:
                await self._events.insert_one(doc)
            except DuplicateKeyError:
                pass
            except (InvalidDocument, OverflowError, WriteError):
                refused.add(position)
        return refused

    async def _publish(self, envelopes: list[EventEnvelope]) -> None:
        futures = [
            await self._producer.send(
                topics.EVENTS, msgspec.json.encode(envelope), key=envelope.organization_id.encode()
            )
            for envelope in envelopes
        ]
        if futures:
            await asyncio.gather(*futures)
