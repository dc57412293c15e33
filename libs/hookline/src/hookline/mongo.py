"""MongoDB helpers: the client, the indexes every service relies on, and expiry where TTL is missing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import msgspec
import structlog
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from hookline import documents

T = TypeVar("T")
Document = dict[str, Any]
NOT_IMPLEMENTED = 238  # FerretDB's answer to options it lacks (TTL, partial indexes)
EXPIRING: tuple[str, ...] = (
    documents.EVENTS,
    documents.EVENT_IDS,
    documents.ATTEMPTS,
    documents.DELIVERIES,
    documents.IDEMPOTENCY,
)

log = structlog.get_logger(__name__)


def connect(url: str, **options: Any) -> AsyncMongoClient[Document]:
    """A client with timezone-aware datetimes; lazily connects, so it is cheap to create."""
    options.setdefault("serverSelectionTimeoutMS", 5000)
    return AsyncMongoClient(url, tz_aware=True, **options)


def database(client: AsyncMongoClient[Document]) -> AsyncDatabase[Document]:
    """The database named in the URL's path (`hookline` when it names none)."""
    try:
        return client.get_default_database()
    except Exception:  # ConfigurationError: no database in the URL
        return client.get_database("hookline")


async def ping(db: AsyncDatabase[Document]) -> bool:
    try:
        await db.command("ping")
    except Exception:
        return False
    return True


INDEXES: dict[str, list[IndexModel]] = {
    documents.API_KEYS: [IndexModel([("hash", ASCENDING)], unique=True)],
    documents.WEBHOOKS: [IndexModel([("organization_id", ASCENDING), ("_id", DESCENDING)])],
    documents.EVENT_TYPES: [IndexModel([("organization_id", ASCENDING), ("name", ASCENDING)], unique=True)],
    documents.EVENTS: [IndexModel([("organization_id", ASCENDING), ("created_at", ASCENDING)])],
    documents.EVENT_IDS: [IndexModel([("organization_id", ASCENDING), ("producer_id", ASCENDING)], unique=True)],
    documents.DELIVERIES: [
        IndexModel([("webhook_id", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)]),
        IndexModel([("event_id", ASCENDING)]),
    ],
    documents.ATTEMPTS: [
        IndexModel([("webhook_id", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("delivery_id", ASCENDING)]),
        # A delivery that succeeded at its first attempt has no status document: its event finds it here.
        IndexModel([("event_id", ASCENDING)]),
    ],
    documents.IDEMPOTENCY: [IndexModel([("expires_at", ASCENDING)])],
}


async def ensure_indexes(db: AsyncDatabase[Document]) -> bool:
    """Creates every index; returns True when the server has TTL indexes (real MongoDB), else False.

    Every expiring collection carries `expires_at`; where TTL indexes exist they drop expired documents,
    elsewhere `sweep_expired` does.
    """
    for name, models in INDEXES.items():
        existing = await _index_names(db, name)
        # One at a time, and only the missing ones: FerretDB v1 drops the connection when a createIndexes
        # with several indexes meets ones that already exist.
        for model in models:
            if model.document["name"] not in existing:
                await db[name].create_indexes([model])
    ttl = True
    for name in EXPIRING:
        existing = await _index_names(db, name)
        if "expires_at_ttl" in existing:
            continue
        if "expires_at_1" in existing:
            ttl = False
            continue
        try:
            await db[name].create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_at_ttl")
        except OperationFailure as exc:
            if exc.code != NOT_IMPLEMENTED:
                raise
            ttl = False
            await db[name].create_index([("expires_at", ASCENDING)], name="expires_at_1")
    return ttl


async def _index_names(db: AsyncDatabase[Document], collection: str) -> set[str]:
    return {str(index["name"]) async for index in await db[collection].list_indexes()}


async def sweep_expired(db: AsyncDatabase[Document], collections: Iterable[str] = EXPIRING) -> int:
    """Deletes documents whose `expires_at` has passed; the stand-in for TTL indexes on FerretDB."""
    now = datetime.now(UTC)
    removed = 0
    for name in collections:
        result = await db[name].delete_many({"expires_at": {"$lt": now}})
        removed += result.deleted_count
    return removed


# Retention is counted in days, so an hourly sweep is plenty; on FerretDB v1 a sweep is far from free: range
# filters are not pushed down to SQLite, so each `delete_many` reads its whole collection (measured: 13 s and
# 8 CPU-seconds for 60,000 attempts, stalling every write meanwhile).
SWEEP_INTERVAL_SECONDS: Final = 3600.0


async def run_expiry_sweeper(
    db: AsyncDatabase[Document],
    interval_seconds: float = SWEEP_INTERVAL_SECONDS,
    collections: Iterable[str] = EXPIRING,
) -> None:
    """Sweeps `collections` now and then every `interval_seconds`; a failed sweep is logged and retried on the
    next tick, never fatal. Each service sweeps only the collections it writes."""
    chosen = tuple(collections)
    while True:
        try:
            removed = await sweep_expired(db, chosen)
            if removed:
                log.info("expired documents removed", count=removed)
        except Exception as exc:
            log.warning("expiry sweep failed", error=str(exc))
        await asyncio.sleep(interval_seconds)


def to_document(value: msgspec.Struct) -> Document:
    """A Struct as a BSON-ready dict: datetimes stay datetimes, field renames (`_id`) apply."""
    doc: Document = msgspec.to_builtins(value, builtin_types=(datetime, bytes))
    return doc


def from_document(doc: Document, kind: type[T]) -> T:
    return msgspec.convert(doc, kind, strict=False)


@contextlib.asynccontextmanager
async def lifespan_client(url: str) -> Any:
    client = connect(url)
    try:
        yield client
    finally:
        await client.close()
