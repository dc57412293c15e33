"""Checks an event against its organization: the organization exists, the type exists, the data fits."""

from __future__ import annotations

from typing import Any

import jsonschema
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.event_catalogue import EventType
from hookline.messages import ProducerEvent
from hookline.mongo import Document
from hookline_ingest import errors
from hookline_ingest.errors import InvalidEvent
from hookline_ingest.ttl_cache import TtlCache

MAX_SCHEMA_ERRORS = 5
# A type created a moment ago is found on the next miss once the cached list is this old.
REFRESH_ON_MISS_AFTER = 1.0


class EventChecks:
    def __init__(self, db: AsyncDatabase[Document], catalogue: dict[str, EventType], *, ttl_seconds: float = 30.0):
        self._db = db
        self._catalogue = catalogue
        self._known_orgs: TtlCache[str, bool] = TtlCache(ttl_seconds)
        self._unknown_orgs: TtlCache[str, bool] = TtlCache(1.0)
        self._types: TtlCache[str, dict[str, EventType]] = TtlCache(ttl_seconds)
        self._validators: dict[tuple[str, str], tuple[dict[str, Any], jsonschema.protocols.Validator]] = {}

    async def check(self, event: ProducerEvent) -> None:
        """Raises InvalidEvent when the organization, the type or the data is refused."""
        await self._check_organization(event.organization_id)
        event_type = await self._find_type(event.organization_id, event.type)
        if event_type is None:
            raise InvalidEvent(errors.UNKNOWN_TYPE, f"event type {event.type!r} does not exist in this organization")
        if event_type.schema is not None:
            problems = self._schema_errors(event.organization_id, event_type, event.data)
            if problems:
                raise InvalidEvent(
                    errors.SCHEMA_MISMATCH, f"data does not satisfy the schema of {event.type!r}", errors=problems
                )

    async def _check_organization(self, organization_id: str) -> None:
        if self._known_orgs.get(organization_id):
            return
        if self._unknown_orgs.get(organization_id):
            raise InvalidEvent(errors.UNKNOWN_ORGANIZATION, "the organization does not exist")
        found = await self._db[documents.ORGANIZATIONS].find_one({"_id": organization_id}, {"_id": 1})
        if found is None:
            self._unknown_orgs.put(organization_id, True)
            raise InvalidEvent(errors.UNKNOWN_ORGANIZATION, "the organization does not exist")
        self._known_orgs.put(organization_id, True)

    async def _find_type(self, organization_id: str, name: str) -> EventType | None:
        if name in self._catalogue:
            return self._catalogue[name]
        types = self._types.get(organization_id)
        age = self._types.age(organization_id)
        if types is None or (name not in types and age is not None and age > REFRESH_ON_MISS_AFTER):
            types = await self._load_types(organization_id)
        return types.get(name)

    async def _load_types(self, organization_id: str) -> dict[str, EventType]:
        cursor = self._db[documents.EVENT_TYPES].find({"organization_id": organization_id})
        types = {
            str(doc["name"]): EventType(
                name=str(doc["name"]), description=str(doc.get("description") or ""), schema=doc.get("schema")
            )
            for doc in await cursor.to_list(None)
        }
        self._types.put(organization_id, types)
        return types

    def _schema_errors(self, organization_id: str, event_type: EventType, data: Any) -> list[str]:
        assert event_type.schema is not None
        key = (organization_id, event_type.name)
        cached = self._validators.get(key)
        if cached is not None and (cached[0] is event_type.schema or cached[0] == event_type.schema):
            validator = cached[1]
        else:
            if len(self._validators) > 10_000:
                self._validators.clear()
            validator = jsonschema.Draft202012Validator(event_type.schema)
            self._validators[key] = (event_type.schema, validator)
        messages = []
        for error in validator.iter_errors(data):
            where = "/".join(str(p) for p in error.absolute_path)
            messages.append(f"{where or '(root)'}: {error.message}")
            if len(messages) >= MAX_SCHEMA_ERRORS:
                break
        return messages
