"""The delivery tasks of one event: one per matching webhook, with ids that survive reproduction."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from hookline import ids
from hookline.messages import DeliveryTask, EventEnvelope, WebhookConfig

_encoder = msgspec.json.Encoder()


def delivery_id(event: EventEnvelope, webhook_id: str) -> str:
    """The contract's id: the same for every copy of this (event, webhook) task."""
    return ids.derived_id("dlv", at=event.created_at, seed=f"{event.id}:{webhook_id}")


def tasks_for(event: EventEnvelope, webhooks: Iterable[WebhookConfig]) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs for `hookline.deliveries`: key = webhook id, value = the DeliveryTask JSON."""
    pairs = []
    for webhook in webhooks:
        task = DeliveryTask(
            delivery_id=delivery_id(event, webhook.id),
            webhook_id=webhook.id,
            organization_id=event.organization_id,
            event=event,
            attempt=1,
            reason="event",
            created_at=event.created_at,
        )
        pairs.append((webhook.id.encode(), _encoder.encode(task)))
    return pairs
