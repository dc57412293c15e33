"""Which webhooks an event goes to: exact types, `prefix.*` patterns, `*`, and session scoping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hookline.messages import EventEnvelope, WebhookConfig


def type_matches(patterns: Iterable[str], event_type: str) -> bool:
    """`*` matches all; `member.*` matches `member.added` and `member.role.changed`, not `member` itself."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def webhook_matches(webhook: WebhookConfig, event: EventEnvelope) -> bool:
    """True when an active, enabled webhook of the event's organization subscribes to it."""
    return (
        webhook.receives
        and webhook.organization_id == event.organization_id
        and (webhook.session_id is None or webhook.session_id == event.session_id)
        and type_matches(webhook.events, event.type)
    )


def valid_pattern(pattern: str) -> bool:
    """`*`, an exact type, or `prefix.*`; no other wildcard positions."""
    if pattern == "*":
        return True
    body = pattern[:-2] if pattern.endswith(".*") else pattern
    return bool(body) and "*" not in body and not body.startswith(".") and not body.endswith(".")


def matching_webhooks(webhooks: Sequence[WebhookConfig], event: EventEnvelope) -> list[WebhookConfig]:
    return [w for w in webhooks if webhook_matches(w, event)]
