"""Body shaping, outcome decisions, retry relay routing, token lifetimes and status precedence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from hookline.messages import EventEnvelope
from hookline.retry_schedule import RetryPolicy
from hookline_dispatcher.delivery_records import DeliveryWrite
from hookline_dispatcher.oidc_tokens import refresh_margin, token_ttl
from hookline_dispatcher.options import DeliveryTopics, DispatcherOptions
from hookline_dispatcher.outcome import GONE_REASON, AttemptResult, decide
from hookline_dispatcher.payload import body_for, shape_data
from hookline_dispatcher.retry_relay import due_at, next_topic

DATA = {"id": "m1", "count": 2, "ok": True, "none": None, "tags": ["a"], "profile": {"x": 1}}


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ("*", DATA),
        ("", DATA),
        ("identifiers", {"id": "m1", "count": 2, "ok": True, "none": None}),
        ("id, profile ,absent", {"id": "m1", "profile": {"x": 1}}),
        ("tags", {"tags": ["a"]}),
    ],
)
def test_include_shapes_top_level_data(include: str, expected: dict[str, object]) -> None:
    assert shape_data(DATA, include) == expected


def test_the_body_is_the_envelope_with_shaped_data() -> None:
    event = EventEnvelope(
        id="evt_1", type="a.b", created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), organization_id="org_1", data=DATA
    )
    assert json.loads(body_for(event, "identifiers")) == {
        "id": "evt_1",
        "type": "a.b",
        "created_at": "2026-01-02T03:04:05Z",
        "organization_id": "org_1",
        "session_id": None,
        "data": {"id": "m1", "count": 2, "ok": True, "none": None},
    }


POLICY = RetryPolicy(policy="fixed", attempts=3, delay_seconds=10)


def test_a_2xx_succeeds() -> None:
    assert decide(AttemptResult(204, None, 1.0), POLICY, 1).kind == "succeeded"


def test_a_failure_is_retried_until_the_last_attempt() -> None:
    failed = AttemptResult(500, "http_status", 1.0)
    first = decide(failed, POLICY, 1, random.Random(1))
    assert first.kind == "retry" and first.delay is not None and 9 <= first.delay <= 11
    assert decide(failed, POLICY, 3).kind == "dead"


def test_retry_after_counts_only_on_429_and_503() -> None:
    assert decide(AttemptResult(429, "http_status", 1.0, retry_after=60), POLICY, 1).delay == 60
    assert decide(AttemptResult(503, "http_status", 1.0, retry_after=60), POLICY, 1).delay == 60
    delay = decide(AttemptResult(500, "http_status", 1.0, retry_after=60), POLICY, 1).delay
    assert delay is not None and delay < 60


def test_410_dead_letters_at_once_and_asks_for_a_disable() -> None:
    decision = decide(AttemptResult(410, "http_status", 1.0), POLICY, 1)
    assert (decision.kind, decision.disable_reason) == ("dead", GONE_REASON)


def test_the_relay_holds_a_message_for_its_tier_or_until_due() -> None:
    assert due_at(1_000_000, 5, not_before=2000.0) == 1005.0
    assert due_at(1_000_000, 5, not_before=1002.0) == 1002.0


def test_the_relay_sends_due_messages_home_and_far_ones_to_the_fitting_tier() -> None:
    options = DispatcherOptions(topics=DeliveryTopics(deliveries="d", dead="x", retry_prefix="r."))
    assert next_topic(options, not_before=100.0, now=100.0) == "d"
    assert next_topic(options, not_before=100.0, now=99.99) == "d"
    assert next_topic(options, not_before=100.0, now=99.5) == "r.1s"
    assert next_topic(options, not_before=100.0, now=60.0) == "r.30s"
    assert next_topic(options, not_before=10_000.0, now=0.0) == "r.1h"


def test_token_lifetime_is_the_shorter_of_what_is_said_and_configured() -> None:
    assert token_ttl(3600, None) == 3600
    assert token_ttl(None, 120) == 120
    assert token_ttl(3600, 120) == 120
    assert token_ttl(None, None) == 300
    assert refresh_margin(3600) == 30 and refresh_margin(60) == 6


@pytest.mark.parametrize(
    ("status", "stored", "applies"),
    [
        ("failed", "succeeded", False),
        ("pending", "succeeded", False),
        ("failed", "pending", True),
        ("succeeded", "failed", True),
        ("pending", None, True),
    ],
)
def test_a_succeeded_delivery_never_goes_back(status: str, stored: str | None, applies: bool) -> None:
    write = DeliveryWrite("dlv_1", status, 1, {}, {})  # type: ignore[arg-type]
    assert write.applies_over(stored) is applies
