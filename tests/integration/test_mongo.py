"""The MongoDB-wire server: documents round-trip, unique indexes refuse duplicates, expiry works."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from hookline import documents, mongo
from hookline.documents import Organization
from hookline.ids import new_id
from hookline.mongo import Document

pytestmark = pytest.mark.integration


async def test_a_document_goes_in_and_comes_back_as_the_same_struct(db: AsyncDatabase[Document]) -> None:
    org = Organization(id=new_id("org"), name="acme", created_at=datetime.now(UTC).replace(microsecond=0))
    await db[documents.ORGANIZATIONS].insert_one(mongo.to_document(org))
    raw = await db[documents.ORGANIZATIONS].find_one({"_id": org.id})
    assert raw is not None
    assert mongo.from_document(raw, Organization) == org


async def test_a_unique_index_refuses_a_duplicate(db: AsyncDatabase[Document]) -> None:
    org_id = new_id("org")
    first = {"_id": new_id("et"), "organization_id": org_id, "name": "member.added"}
    await db[documents.EVENT_TYPES].insert_one(first)
    with pytest.raises(DuplicateKeyError):
        await db[documents.EVENT_TYPES].insert_one({**first, "_id": new_id("et")})


async def test_find_one_and_update_upserts_once(db: AsyncDatabase[Document]) -> None:
    key = {"organization_id": new_id("org"), "producer_id": "p-1"}
    results = [
        await db[documents.EVENT_IDS].find_one_and_update(
            key,
            {"$setOnInsert": {"first_seen": n}, "$inc": {"seen": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        for n in range(3)
    ]
    assert [r["seen"] for r in results if r] == [1, 2, 3]
    assert {r["first_seen"] for r in results if r} == {0}


async def test_expired_documents_are_removed_by_ttl_or_by_the_sweep(db: AsyncDatabase[Document]) -> None:
    has_ttl = await mongo.ensure_indexes(db)
    now = datetime.now(UTC)
    old, fresh = new_id("evt"), new_id("evt")
    await db[documents.EVENTS].insert_many(
        [{"_id": old, "expires_at": now - timedelta(days=1)}, {"_id": fresh, "expires_at": now + timedelta(days=1)}]
    )
    removed = await mongo.sweep_expired(db, [documents.EVENTS])
    remaining = {d["_id"] async for d in db[documents.EVENTS].find({"_id": {"$in": [old, fresh]}})}
    assert remaining == {fresh}
    # Where the server has TTL indexes its monitor may have removed it first; the sweep is the fallback.
    assert removed == 1 or has_ttl
