"""Event types of an organization: its own (in MongoDB) over the global catalogue and `webhook.test`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from hookline import documents
from hookline.event_catalogue import EventType
from hookline.ids import new_id
from hookline_api.context import ApiContext
from hookline_api.errors import Conflict


async def known_type_names(ctx: ApiContext, organization_id: str) -> set[str]:
    own = await ctx.db[documents.EVENT_TYPES].find({"organization_id": organization_id}, {"name": 1}).to_list(None)
    return set(ctx.catalogue) | {str(doc["name"]) for doc in own}


async def organization_types(ctx: ApiContext, organization_id: str) -> list[dict[str, Any]]:
    return await ctx.db[documents.EVENT_TYPES].find({"organization_id": organization_id}).sort("name", 1).to_list(None)


async def register(ctx: ApiContext, organization_id: str, entry: EventType) -> dict[str, Any]:
    if entry.name in ctx.catalogue:
        raise Conflict(f"the event type {entry.name!r} already exists in the global catalogue", {"name": entry.name})
    doc = {
        "_id": new_id("et"),
        "organization_id": organization_id,
        "name": entry.name,
        "description": entry.description,
        "schema": entry.schema,
        "created_at": datetime.now(UTC),
    }
    try:
        await ctx.db[documents.EVENT_TYPES].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict(f"the event type {entry.name!r} already exists", {"name": entry.name}) from None
    return doc
