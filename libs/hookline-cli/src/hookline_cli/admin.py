"""Bootstrap records made from the command line: organizations and API keys."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, documents, mongo
from hookline.documents import ApiKey, Organization
from hookline.ids import new_id
from hookline.mongo import Document


async def create_organization(db: AsyncDatabase[Document], name: str) -> Organization:
    org = Organization(id=new_id("org"), name=name, created_at=datetime.now(UTC))
    await db[documents.ORGANIZATIONS].insert_one(mongo.to_document(org))
    return org


class UnknownOrganizationError(LookupError):
    pass


async def create_api_key(
    db: AsyncDatabase[Document], org_id: str, scopes: frozenset[str], name: str | None
) -> tuple[ApiKey, str]:
    """Stores the key's hash and returns (record, key); the key is shown once and never again."""
    if await db[documents.ORGANIZATIONS].find_one({"_id": org_id}, {"_id": 1}) is None:
        raise UnknownOrganizationError(org_id)
    key = api_keys.generate_api_key()
    record = ApiKey(
        id=new_id("key"),
        organization_id=org_id,
        name=name,
        scopes=sorted(scopes),
        hash=api_keys.hash_api_key(key),
        prefix=api_keys.display_prefix(key),
        created_at=datetime.now(UTC),
    )
    await db[documents.API_KEYS].insert_one(mongo.to_document(record))
    return record, key
