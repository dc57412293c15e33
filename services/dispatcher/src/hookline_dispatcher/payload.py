"""The delivered body: the event envelope, with `data` shaped by the webhook's `include`."""

from __future__ import annotations

from typing import Any

import msgspec

from hookline.messages import EventEnvelope, JsonObject

_SCALARS = (str, int, float, bool, type(None))


def shape_data(data: JsonObject, include: str) -> JsonObject:
    """`*` keeps everything; `identifiers` keeps top-level scalars; otherwise a comma list of top-level keys."""
    spec = include.strip()
    if spec in ("", "*"):
        return data
    if spec == "identifiers":
        return {key: value for key, value in data.items() if isinstance(value, _SCALARS)}
    wanted = [key.strip() for key in spec.split(",") if key.strip()]
    return {key: data[key] for key in wanted if key in data}


def body_for(event: EventEnvelope, include: str) -> bytes:
    shaped: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at,
        "organization_id": event.organization_id,
        "session_id": event.session_id,
        "data": shape_data(event.data, include),
    }
    return msgspec.json.encode(shaped)
