"""Event types: the global catalogue file (`HOOKLINE_EVENT_TYPES_FILE`), `webhook.test`, and schema checks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

import jsonschema
import msgspec
import yaml

TEST_EVENT_TYPE: Final = "webhook.test"
NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")
MAX_NAME_LENGTH: Final = 128


class EventType(msgspec.Struct, kw_only=True):
    name: str
    description: str = ""
    # A JSON Schema (Draft 2020-12) that an event's `data` must satisfy; None accepts any object.
    schema: dict[str, Any] | None = None


class CatalogueError(ValueError):
    pass


BUILT_IN: Final = (EventType(name=TEST_EVENT_TYPE, description="A test delivery sent from the API."),)


def valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and bool(NAME_RE.match(name))


def check_schema(schema: dict[str, Any]) -> None:
    """Raise CatalogueError when `schema` is not a valid JSON Schema."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise CatalogueError(f"invalid JSON Schema: {exc.message}") from None


def schema_errors(schema: dict[str, Any] | None, data: Any, limit: int = 5) -> list[str]:
    """Up to `limit` messages saying how `data` breaks `schema` (empty when it conforms)."""
    if schema is None:
        return []
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in validator.iter_errors(data):
        where = "/".join(str(p) for p in error.absolute_path)
        messages.append(f"{where or '(root)'}: {error.message}")
        if len(messages) >= limit:
            break
    return messages


def load_catalogue(path: str | None) -> dict[str, EventType]:
    """The global event types: the file's (a YAML or JSON list, or a mapping of name to definition), plus
    the built-in `webhook.test`."""
    types = {t.name: t for t in BUILT_IN}
    if not path:
        return types
    text = Path(path).read_text()
    raw: Any = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    if isinstance(raw, dict) and "event_types" in raw:
        raw = raw["event_types"]
    if isinstance(raw, dict):
        raw = [{"name": name, **(spec or {})} for name, spec in raw.items()]
    try:
        entries = msgspec.convert(raw or [], list[EventType])
    except msgspec.ValidationError as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    for entry in entries:
        if not valid_name(entry.name):
            raise CatalogueError(f"{path}: bad event type name {entry.name!r}")
        if entry.schema is not None:
            check_schema(entry.schema)
        types[entry.name] = entry
    return types
