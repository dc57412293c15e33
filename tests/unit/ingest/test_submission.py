"""Parsing producer messages and HTTP bodies: size, JSON and the envelope, each refused with its reason."""

from __future__ import annotations

import msgspec
import pytest

from hookline_ingest.errors import InvalidEvent
from hookline_ingest.ingest_consumer import source_topics
from hookline_ingest.submission import parse_http_event, parse_producer_event
from hookline_ingest.ttl_cache import TtlCache


def reason_of(raw: bytes, max_bytes: int = 1024) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_producer_event(raw, max_bytes)
    return caught.value.reason


def test_a_complete_producer_event_parses() -> None:
    raw = b'{"id": "p-1", "type": "a.b", "organization_id": "org_1", "session_id": null, "data": {"k": 1}}'
    event = parse_producer_event(raw, 1024)
    assert (event.id, event.type, event.organization_id, event.data) == ("p-1", "a.b", "org_1", {"k": 1})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{nope", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"type": "a", "data": {}}', "invalid_envelope"),
        (b'{"type": "a", "organization_id": "org_1", "data": []}', "invalid_envelope"),
        (b'{"type": "a", "organization_id": "org_1", "data": {}, "extra": 1}', "invalid_envelope"),
        (b'{"type": "", "organization_id": "org_1", "data": {}}', "invalid_envelope"),
        (b'{"type": "a", "organization_id": "", "data": {}}', "invalid_envelope"),
        (b'{"id": "", "type": "a", "organization_id": "org_1", "data": {}}', "invalid_envelope"),
    ],
)
def test_broken_messages_are_refused_with_their_reason(raw: bytes, reason: str) -> None:
    assert reason_of(raw) == reason


def test_a_message_over_the_limit_is_too_large_before_it_is_parsed() -> None:
    raw = msgspec.json.encode({"type": "a", "organization_id": "org_1", "data": {"x": "y" * 2000}})
    assert reason_of(raw) == "too_large"


def test_an_http_body_may_leave_the_organization_to_the_api_key() -> None:
    event = parse_http_event(b'{"type": "a.b", "data": {}}', 1024).for_organization("org_9")
    assert event.organization_id == "org_9"


def test_non_json_over_http_is_a_400() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_http_event(b"not json", 1024)
    assert caught.value.status == 400


def test_extra_source_topics_are_added_once() -> None:
    assert source_topics(" a.b , hookline.ingest,,c ") == ["hookline.ingest", "a.b", "c"]


def test_cache_entries_expire_after_their_time() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(10.0, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 5.0
    assert cache.get("a") == 1
    now[0] = 11.0
    assert cache.get("a") is None
    cache.put("b", 2)
    cache.put("c", 3)
    cache.put("d", 4)
    assert cache.get("b") is None and cache.get("d") == 4
