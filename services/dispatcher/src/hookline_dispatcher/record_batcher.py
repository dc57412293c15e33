"""Batched, durable writes of attempts and delivery statuses: callers wait until their batch is stored."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from hookline import documents
from hookline.mongo import Document
from hookline_dispatcher import metrics
from hookline_dispatcher.delivery_records import DeliveryWrite

log = structlog.get_logger(__name__)
DUPLICATE_KEY = 11000
UPDATE_CONCURRENCY = 32


@dataclass
class _Batch:
    attempts: list[Document] = field(default_factory=list)
    deliveries: list[DeliveryWrite] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.attempts) + len(self.deliveries)


class RecordBatcher:
    """Collects writes for up to `flush_seconds` or `max_batch` documents, then stores them in two round trips.

    A failed write is retried (with backoff) until it succeeds or the batcher is stopped; the waiters of a batch
    that could not be stored get the error, so their tasks are not counted as finished.
    """

    def __init__(self, db: AsyncDatabase[Document], *, max_batch: int = 500, flush_seconds: float = 0.05) -> None:
        self._db = db
        self._max_batch = max_batch
        self._flush_seconds = flush_seconds
        self._batch = _Batch()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="record-batcher")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task

    async def record(self, attempt: Document | None, delivery: DeliveryWrite | None) -> None:
        if self._stopping and self._task is not None and self._task.done():
            raise RuntimeError("the record writer has stopped")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if attempt is not None:
            self._batch.attempts.append(attempt)
        if delivery is not None:
            self._batch.deliveries.append(delivery)
        self._batch.waiters.append(waiter)
        self._wake.set()
        if len(self._batch) >= self._max_batch:
            self._full.set()
        await waiter

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._batch.waiters and self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_seconds):
                    await self._full.wait()
            batch, self._batch = self._batch, _Batch()
            self._wake.clear()
            self._full.clear()
            if batch.waiters:
                await self._store(batch)

    async def _store(self, batch: _Batch) -> None:
        metrics.RECORD_BATCH.observe(len(batch))
        started = time.perf_counter()
        try:
            await self._store_until_done(batch)
        finally:
            metrics.RECORD_WRITE.observe(time.perf_counter() - started)

    async def _store_until_done(self, batch: _Batch) -> None:
        delay = 0.1
        while True:
            try:
                await self._write(batch)
            except Exception as exc:  # any failure (FerretDB answers some errors in shapes PyMongo cannot parse)
                if self._stopping:
                    _settle(batch, exc)
                    return
                log.warning("storing attempts failed; retrying", error=str(exc)[:300], documents=len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            _settle(batch, None)
            return

    async def _write(self, batch: _Batch) -> None:
        if batch.attempts:
            try:
                await self._db[documents.ATTEMPTS].insert_many(batch.attempts, ordered=False)
            except BulkWriteError as exc:
                # A retried batch finds the attempts that made it the first time.
                _raise_unless_duplicates(exc)
            batch.attempts = []
        if batch.deliveries:
            pending, batch.deliveries = batch.deliveries, []
            collided: list[int] = []
            try:
                await self._db[documents.DELIVERIES].insert_many([w.document() for w in pending], ordered=False)
            except BulkWriteError as exc:
                if not _only_duplicates(exc):
                    batch.deliveries = pending
                    raise
                collided = sorted(int(e["index"]) for e in exc.details.get("writeErrors", []))
            except Exception:
                batch.deliveries = pending
                raise
            # Updates are slow on FerretDB (each one scans); run them side by side, a bounded number at once.
            for start in range(0, len(collided), UPDATE_CONCURRENCY):
                chunk = collided[start : start + UPDATE_CONCURRENCY]
                results = await asyncio.gather(*(self._update(pending[i]) for i in chunk), return_exceptions=True)
                failed = [i for i, result in zip(chunk, results, strict=True) if isinstance(result, BaseException)]
                if failed:
                    batch.deliveries = [pending[i] for i in failed + collided[start + len(chunk) :]]
                    error = next(r for r in results if isinstance(r, BaseException))
                    raise error

    async def _update(self, write: DeliveryWrite) -> None:
        collection = self._db[documents.DELIVERIES]
        if write.status != "succeeded":
            stored = await collection.find_one({"_id": write.delivery_id}, {"status": 1})
            if stored is not None and not write.applies_over(stored.get("status")):
                return
        await collection.update_one({"_id": write.delivery_id}, write.update())


def _only_duplicates(exc: BulkWriteError) -> bool:
    errors = exc.details.get("writeErrors", [])
    return not exc.details.get("writeConcernErrors") and all(e.get("code") == DUPLICATE_KEY for e in errors)


def _raise_unless_duplicates(exc: BulkWriteError) -> None:
    if not _only_duplicates(exc):
        raise exc


def _settle(batch: _Batch, error: BaseException | None) -> None:
    for waiter in batch.waiters:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
