"""Which webhooks an event goes to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookline.matching import matching_webhooks, type_matches, valid_pattern, webhook_matches
from hookline.messages import EventEnvelope, WebhookConfig


def event(type_: str = "member.added", org: str = "org_A", session: str | None = None) -> EventEnvelope:
    return EventEnvelope(
        id="evt_1", type=type_, created_at=datetime.now(UTC), organization_id=org, session_id=session, data={}
    )


def webhook(events: list[str], **fields: object) -> WebhookConfig:
    return WebhookConfig(id="wh_1", organization_id="org_A", url="https://example.com", events=events, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "anything.at.all", True),
        (["member.added"], "member.added", True),
        (["member.added"], "member.removed", False),
        (["member.*"], "member.added", True),
        (["member.*"], "member.role.changed", True),
        (["member.*"], "member", False),
        (["member.*"], "membership.added", False),
        (["invoice.paid", "member.*"], "member.removed", True),
    ],
)
def test_types_match_exactly_by_prefix_or_by_star(patterns: list[str], event_type: str, expected: bool) -> None:
    assert type_matches(patterns, event_type) is expected


def test_a_webhook_of_another_organization_never_matches() -> None:
    assert not webhook_matches(webhook(["*"]), event(org="org_B"))


def test_a_session_scoped_webhook_gets_only_its_session() -> None:
    scoped = webhook(["*"], session_id="s1")
    assert webhook_matches(scoped, event(session="s1"))
    assert not webhook_matches(scoped, event(session="s2"))
    assert not webhook_matches(scoped, event(session=None))
    assert webhook_matches(webhook(["*"]), event(session="s2"))


def test_inactive_or_disabled_webhooks_receive_nothing() -> None:
    assert not webhook_matches(webhook(["*"], active=False), event())
    assert not webhook_matches(webhook(["*"], status="disabled"), event())
    assert matching_webhooks([webhook(["*"]), webhook(["*"], active=False)], event()) == [webhook(["*"])]


@pytest.mark.parametrize("pattern", ["*", "member.added", "member.*", "a.b.*"])
def test_valid_patterns(pattern: str) -> None:
    assert valid_pattern(pattern)


@pytest.mark.parametrize("pattern", ["", "*.added", "mem*", ".*", "member.", "a.*.b"])
def test_invalid_patterns(pattern: str) -> None:
    assert not valid_pattern(pattern)
