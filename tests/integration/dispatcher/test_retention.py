"""Attempts and delivery statuses expire after the retention window (HOOKLINE_ATTEMPT_RETENTION_DAYS, 30 by
default): each carries `expires_at`, which a TTL index (MongoDB) or the dispatcher's sweeper (FerretDB) honours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import delivery_status, documents
from hookline.mongo import Document
from tests.integration.dispatcher.conftest import EngineFactory, deliver_once, wait_until
from tests.integration.dispatcher.receivers import ReceiverHub

pytestmark = pytest.mark.integration

RETENTION_DAYS = 7
# MongoDB's TTL monitor runs once a minute; the dispatcher's sweeper (FerretDB) runs every SWEEP_SECONDS here.
SWEEP_SECONDS = 0.5
EXPIRY_WAIT = 150.0


async def test_attempts_and_statuses_carry_the_window_and_go_once_it_has_passed(
    start_engine: EngineFactory, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    engine = await start_engine(attempt_retention_days=RETENTION_DAYS, expiry_sweep_seconds=SWEEP_SECONDS)
    old = await deliver_once(engine, db, producer, hub.add().url)
    recent = await deliver_once(engine, db, producer, hub.add().url)
    window = timedelta(days=RETENTION_DAYS)
    assert old["expires_at"] - old["created_at"] == window

    async def statuses_stored() -> bool:
        found = await delivery_status.of_ids(db, [old["delivery_id"], recent["delivery_id"]])
        return sum(1 for d in found if d.status == "succeeded") == 2

    await wait_until(statuses_stored, what="both delivery statuses")
    status = await delivery_status.find(db, old["delivery_id"])
    assert status is not None and status.expires_at - status.updated_at == window

    # The window passes for the first delivery only: its documents are now older than the retention.
    passed = datetime.now(UTC) - timedelta(seconds=1)
    await db[documents.ATTEMPTS].update_one({"_id": old["_id"]}, {"$set": {"expires_at": passed}})
    await db[documents.DELIVERIES].update_one({"_id": old["delivery_id"]}, {"$set": {"expires_at": passed}})

    async def expired_ones_gone() -> bool:
        attempt = await db[documents.ATTEMPTS].find_one({"_id": old["_id"]})
        return attempt is None and await delivery_status.find(db, old["delivery_id"]) is None

    await wait_until(expired_ones_gone, timeout=EXPIRY_WAIT, what="the expired attempt and status to be removed")
    assert await db[documents.ATTEMPTS].find_one({"_id": recent["_id"]}) is not None
    assert await delivery_status.find(db, recent["delivery_id"]) is not None
