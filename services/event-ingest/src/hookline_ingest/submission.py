"""Turning raw bytes into a `ProducerEvent`: size limit, JSON and the envelope's shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from hookline.messages import JsonObject, ProducerEvent
from hookline_ingest import errors
from hookline_ingest.errors import InvalidEvent

MAX_PRODUCER_ID_LENGTH = 255


class HttpEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /v1/events`: a `ProducerEvent` whose organization may be left to the API key."""

    type: str
    data: JsonObject
    organization_id: str | None = None
    id: str | None = None
    session_id: str | None = None
    occurred_at: datetime | None = None

    def for_organization(self, organization_id: str) -> ProducerEvent:
        return ProducerEvent(
            type=self.type,
            organization_id=organization_id,
            data=self.data,
            id=self.id,
            session_id=self.session_id,
            occurred_at=self.occurred_at,
        )


_producer_decoder = msgspec.json.Decoder(ProducerEvent)
_http_decoder = msgspec.json.Decoder(HttpEvent)


def check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        raise InvalidEvent(errors.TOO_LARGE, f"the event is {len(raw)} bytes; at most {max_bytes} are accepted")


def _decode(raw: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(errors.INVALID_ENVELOPE, f"the event does not match the envelope: {exc}") from None
    except msgspec.DecodeError:
        raise InvalidEvent(errors.INVALID_JSON, "the event is not valid JSON", status=400) from None


def _check_fields(event: ProducerEvent | HttpEvent) -> None:
    if not event.type:
        raise InvalidEvent(errors.INVALID_ENVELOPE, "`type` must not be empty")
    if event.id is not None and not 0 < len(event.id) <= MAX_PRODUCER_ID_LENGTH:
        raise InvalidEvent(errors.INVALID_ENVELOPE, f"`id` must be 1 to {MAX_PRODUCER_ID_LENGTH} characters")


def parse_producer_event(raw: bytes, max_bytes: int) -> ProducerEvent:
    """A message of `hookline.ingest`, or InvalidEvent saying why not."""
    check_size(raw, max_bytes)
    event: ProducerEvent = _decode(raw, _producer_decoder)
    _check_fields(event)
    if not event.organization_id:
        raise InvalidEvent(errors.INVALID_ENVELOPE, "`organization_id` must not be empty")
    return event


def parse_http_event(raw: bytes, max_bytes: int) -> HttpEvent:
    check_size(raw, max_bytes)
    event: HttpEvent = _decode(raw, _http_decoder)
    _check_fields(event)
    return event
