"""Delivery tasks the API puts on `hookline.deliveries`: tests, replays and manual retries (key = webhook id)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from hookline import delivery_status, documents, messages, topics
from hookline.event_catalogue import TEST_EVENT_TYPE
from hookline.ids import derived_id, new_id
from hookline.matching import type_matches
from hookline.messages import DeliveryReason, DeliveryTask, EventEnvelope
from hookline.mongo import Document
from hookline.webhooks import Webhook
from hookline_api.context import ApiContext
from hookline_api.errors import Conflict

BATCH: Final = 500


def delivery_id_for(event: EventEnvelope, webhook_id: str) -> str:
    return derived_id("dlv", at=event.created_at, seed=f"{event.id}:{webhook_id}")


def event_from_document(doc: Document) -> EventEnvelope:
    return EventEnvelope(
        id=str(doc["_id"]),
        type=str(doc["type"]),
        created_at=doc["created_at"],
        organization_id=str(doc["organization_id"]),
        session_id=doc.get("session_id"),
        data=doc.get("data") or {},
    )


def _require_receiving(webhook: Webhook) -> None:
    if not (webhook.active and webhook.status == "enabled"):
        raise Conflict(
            'the webhook is disabled and would receive nothing; enable it first (PATCH {"active": true})',
            {"status": webhook.status, "status_reason": webhook.status_reason},
        )


class TaskSender:
    """Produces tasks without waiting for each acknowledgement, then waits for all of them."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._pending: list[asyncio.Future[Any]] = []
        self.count = 0

    async def send(
        self,
        webhook_id: str,
        event: EventEnvelope,
        reason: DeliveryReason,
        prior_attempts: int,
        delivery_id: str | None = None,
    ) -> str:
        delivery_id = delivery_id or delivery_id_for(event, webhook_id)
        task = DeliveryTask(
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            organization_id=event.organization_id,
            event=event,
            attempt=1,
            prior_attempts=prior_attempts,
            reason=reason,
            created_at=datetime.now(UTC),
        )
        self._pending.append(
            await self._ctx.producer.send(topics.DELIVERIES, messages.encode(task), key=webhook_id.encode())
        )
        self.count += 1
        if len(self._pending) >= BATCH:
            await self.flush()
        return delivery_id

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending)


async def queue_test(ctx: ApiContext, webhook: Webhook) -> tuple[str, str]:
    _require_receiving(webhook)
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    event = EventEnvelope(
        id=new_id("evt"),
        type=TEST_EVENT_TYPE,
        created_at=now,
        organization_id=webhook.organization_id,
        session_id=webhook.session_id,
        data={"webhook_id": webhook.id, "message": "This is a test delivery from Hookline."},
    )
    await ctx.db[documents.EVENTS].insert_one(
        {
            "_id": event.id,
            "organization_id": event.organization_id,
            "type": event.type,
            "session_id": event.session_id,
            "data": event.data,
            "created_at": event.created_at,
            "producer_id": None,
            "expires_at": now + timedelta(days=ctx.settings.event_retention_days),
        }
    )
    sender = TaskSender(ctx)
    delivery_id = await sender.send(webhook.id, event, "test", 0)
    await sender.flush()
    return event.id, delivery_id


async def _events_by_id(ctx: ApiContext, organization_id: str, ids: list[str]) -> dict[str, EventEnvelope]:
    docs = await ctx.db[documents.EVENTS].find({"_id": {"$in": ids}, "organization_id": organization_id}).to_list(None)
    return {str(d["_id"]): event_from_document(d) for d in docs}


async def _batches(ctx: ApiContext, collection: str, query: Document) -> AsyncIterator[list[Document]]:
    """Documents in `_id` order, a batch at a time, without holding a cursor open across produce calls."""
    after: str | None = None
    while True:
        page_query = query if after is None else {**query, "_id": {"$gt": after}}
        docs = await ctx.db[collection].find(page_query).sort("_id", 1).limit(BATCH).to_list(None)
        if not docs:
            return
        yield docs
        after = str(docs[-1]["_id"])


async def replay_failed(ctx: ApiContext, webhook: Webhook, since: datetime, until: datetime) -> int:
    """Re-sends this webhook's failed deliveries whose event time is in [since, until)."""
    _require_receiving(webhook)
    sender = TaskSender(ctx)
    query = {
        "webhook_id": webhook.id,
        "organization_id": webhook.organization_id,
        "status": "failed",
        "created_at": {"$gte": since, "$lt": until},
    }
    async for deliveries in _batches(ctx, documents.DELIVERIES, query):
        events = await _events_by_id(ctx, webhook.organization_id, [str(d["event_id"]) for d in deliveries])
        for delivery in deliveries:
            event = events.get(str(delivery["event_id"]))
            if event is not None:  # an event past its retention cannot be sent again
                await sender.send(webhook.id, event, "replay", int(delivery.get("attempts", 0)), str(delivery["_id"]))
    await sender.flush()
    return sender.count


async def replay_all(ctx: ApiContext, webhook: Webhook, since: datetime, until: datetime) -> int:
    """Re-matches every stored event of the organization in [since, until) against the webhook and re-sends
    the matching ones, so events that arrived while it was disabled reach it too."""
    _require_receiving(webhook)
    sender = TaskSender(ctx)
    query: Document = {"organization_id": webhook.organization_id, "created_at": {"$gte": since, "$lt": until}}
    if webhook.session_id is not None:
        query["session_id"] = webhook.session_id
    async for docs in _batches(ctx, documents.EVENTS, query):
        events = [event_from_document(d) for d in docs]
        matching = [e for e in events if e.type != TEST_EVENT_TYPE and type_matches(webhook.events, e.type)]
        ids = [delivery_id_for(e, webhook.id) for e in matching]
        prior = {d.id: d.attempts for d in await delivery_status.of_ids(ctx.db, ids)}
        for event, delivery_id in zip(matching, ids, strict=True):
            await sender.send(webhook.id, event, "replay", prior.get(delivery_id, 0), delivery_id)
    await sender.flush()
    return sender.count


async def retry_one(ctx: ApiContext, webhook: Webhook, delivery: Document) -> str:
    _require_receiving(webhook)
    events = await _events_by_id(ctx, webhook.organization_id, [str(delivery["event_id"])])
    event = events.get(str(delivery["event_id"]))
    if event is None:
        raise Conflict("the delivery's event is past its retention and can no longer be sent", {})
    sender = TaskSender(ctx)
    await sender.send(webhook.id, event, "manual_retry", int(delivery.get("attempts", 0)), str(delivery["_id"]))
    await sender.flush()
    return event.id
