"""Event types: the organization's own, over the global catalogue and `webhook.test`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from msgspec import Meta

from hookline.event_catalogue import MAX_NAME_LENGTH, CatalogueError, EventType, check_schema, valid_name
from hookline_api.caller import Caller, may_manage, may_read
from hookline_api.context import ApiContext
from hookline_api.dependencies import IdempotencyKey
from hookline_api.errors import ValidationFailed
from hookline_api.event_type_store import organization_types, register
from hookline_api.openapi_docs import READ_ERRORS, WRITE_ERRORS, error_responses

Ctx = NamedDependency[ApiContext]
Who = NamedDependency[Caller]


class EventTypeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_NAME_LENGTH,
            description="Lower-case dotted name, such as `member.added`.",
            examples=["member.added"],
        ),
    ]
    description: Annotated[str, Meta(max_length=500)] = ""
    # A JSON Schema (Draft 2020-12) that every event's `data` of this type must satisfy.
    schema: dict[str, Any] | None = None


class EventTypeOut(msgspec.Struct, kw_only=True):
    name: str
    description: str
    schema: dict[str, Any] | None
    source: Literal["catalogue", "organization"]


class EventTypeList(msgspec.Struct, kw_only=True):
    data: list[EventTypeOut]


@get("/event-types", guards=[may_read], responses=error_responses(*READ_ERRORS), tags=["event types"])
async def list_event_types(ctx: Ctx, caller: Who) -> EventTypeList:
    """Every event type the organization's webhooks may subscribe to, by name."""
    out = [
        EventTypeOut(name=t.name, description=t.description, schema=t.schema, source="catalogue")
        for t in ctx.catalogue.values()
    ]
    out += [
        EventTypeOut(
            name=str(d["name"]),
            description=str(d.get("description") or ""),
            schema=d.get("schema"),
            source="organization",
        )
        for d in await organization_types(ctx, caller.organization_id)
    ]
    return EventTypeList(data=sorted(out, key=lambda t: t.name))


@post(
    "/event-types", status_code=201, guards=[may_manage], responses=error_responses(*WRITE_ERRORS), tags=["event types"]
)
async def create_event_type(
    ctx: Ctx, caller: Who, data: JSONBody[EventTypeIn], idempotency_key: IdempotencyKey = None
) -> EventTypeOut:
    """Register an event type for this organization; 409 when the name exists already."""
    if not valid_name(data.name):
        raise ValidationFailed.field(
            "name", "must be lower-case letters, digits, `_` or `-`, in dot-separated parts, such as `member.added`"
        )
    if data.schema is not None:
        try:
            check_schema(data.schema)
        except CatalogueError as exc:
            raise ValidationFailed.field("schema", str(exc)) from None
    doc = await register(
        ctx, caller.organization_id, EventType(name=data.name, description=data.description, schema=data.schema)
    )
    return EventTypeOut(name=doc["name"], description=doc["description"], schema=doc["schema"], source="organization")


HANDLERS: list[HTTPRouteHandler] = [list_event_types, create_event_type]
