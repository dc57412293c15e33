"""Delivery history and control: attempts, replay, one delivery's retry, and one event with its deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from pymongo import DESCENDING

from hookline import delivery_status, documents, mongo
from hookline.documents import Attempt
from hookline.ids import has_prefix
from hookline.mongo import Document
from hookline_api import requeue, webhook_store
from hookline_api.caller import Caller, may_manage, may_read
from hookline_api.context import ApiContext
from hookline_api.dependencies import IdempotencyKey
from hookline_api.errors import NotFound, ValidationFailed
from hookline_api.history_schemas import (
    AttemptOut,
    AttemptPage,
    EventDeliveryOut,
    EventOut,
    ReplayIn,
    ReplayQueued,
    RetryQueued,
)
from hookline_api.openapi_docs import READ_ERRORS, WRITE_ERRORS, error_responses

Ctx = NamedDependency[ApiContext]
Who = NamedDependency[Caller]
WebhookId = FromPath[Annotated[str, Parameter(description="The webhook's id, `wh_…`.", max_length=100)]]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Page size, 1 to 100.")]
Cursor = Annotated[str, QueryParameter(max_length=100, description="`next_cursor` of the previous page.")]
MAX_REPLAY_WINDOW = timedelta(days=90)


def _attempt_out(doc: Document) -> AttemptOut:
    attempt = mongo.from_document(doc, Attempt)
    return AttemptOut(
        id=attempt.id,
        event_id=attempt.event_id,
        delivery_id=attempt.delivery_id,
        attempt=attempt.attempt,
        status=attempt.status,
        status_code=attempt.status_code,
        error=attempt.error,
        latency_ms=attempt.latency_ms,
        response_body=None if attempt.response_body is None else attempt.response_body[:4096],
        next_retry_at=attempt.next_retry_at,
        created_at=attempt.created_at,
    )


@get(
    "/webhooks/{webhook_id:str}/attempts", guards=[may_read], responses=error_responses(*READ_ERRORS), tags=["history"]
)
async def list_attempts(
    ctx: Ctx,
    caller: Who,
    webhook_id: WebhookId,
    status: FromQuery[Literal["succeeded", "failed"] | None] = None,
    limit: Limit = 20,
    cursor: Cursor = "",
) -> AttemptPage:
    """Delivery attempts of this webhook, newest first."""
    webhook = await webhook_store.get(ctx, caller, webhook_id)
    query: Document = {"webhook_id": webhook.id, "organization_id": webhook.organization_id}
    if status is not None:
        query["status"] = status
    if cursor:
        if not has_prefix(cursor, "att"):
            raise ValidationFailed.field("cursor", "is not a cursor this API returned")
        query["_id"] = {"$lt": cursor}
    docs = await ctx.db[documents.ATTEMPTS].find(query).sort("_id", DESCENDING).limit(limit + 1).to_list(None)
    data = [_attempt_out(d) for d in docs[:limit]]
    return AttemptPage(data=data, next_cursor=data[-1].id if len(docs) > limit else "")


@post(
    "/webhooks/{webhook_id:str}/replay",
    status_code=202,
    guards=[may_manage],
    responses=error_responses(*WRITE_ERRORS),
    tags=["history"],
)
async def replay(
    ctx: Ctx, caller: Who, webhook_id: WebhookId, data: JSONBody[ReplayIn], idempotency_key: IdempotencyKey = None
) -> ReplayQueued:
    """Re-queue deliveries in [since, until): `failed` re-sends this webhook's failed deliveries; `all` re-matches
    every stored event of the window against the webhook."""
    since = data.since if data.since.tzinfo else data.since.replace(tzinfo=UTC)
    until = data.until or datetime.now(UTC)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    if until <= since:
        raise ValidationFailed.field("until", "must be later than since")
    if until - since > MAX_REPLAY_WINDOW:
        raise ValidationFailed.field("since", f"the window may span at most {MAX_REPLAY_WINDOW.days} days")
    webhook = await webhook_store.get(ctx, caller, webhook_id)
    if data.status == "failed":
        count = await requeue.replay_failed(ctx, webhook, since, until)
    else:
        count = await requeue.replay_all(ctx, webhook, since, until)
    return ReplayQueued(queued=count, status=data.status, since=since, until=until)


@post(
    "/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry",
    status_code=202,
    guards=[may_manage],
    responses=error_responses(*WRITE_ERRORS),
    tags=["history"],
)
async def retry_delivery(
    ctx: Ctx,
    caller: Who,
    webhook_id: WebhookId,
    delivery_id: FromPath[Annotated[str, Parameter(description="The delivery's id, `dlv_…`.", max_length=100)]],
    idempotency_key: IdempotencyKey = None,
) -> RetryQueued:
    """Re-queue one delivery of this webhook, whatever its status."""
    webhook = await webhook_store.get(ctx, caller, webhook_id)
    delivery = None
    if has_prefix(delivery_id, "dlv"):
        delivery = await delivery_status.find(ctx.db, delivery_id)
    if delivery is None or (delivery.webhook_id, delivery.organization_id) != (webhook.id, webhook.organization_id):
        raise NotFound("no such delivery for this webhook", {"delivery_id": delivery_id})
    event_id = await requeue.retry_one(ctx, webhook, mongo.to_document(delivery))
    return RetryQueued(delivery_id=delivery_id, event_id=event_id)


@get("/events/{event_id:str}", guards=[may_read], responses=error_responses(*READ_ERRORS), tags=["history"])
async def get_event(
    ctx: Ctx,
    caller: Who,
    event_id: FromPath[Annotated[str, Parameter(description="The event's id, `evt_…`.", max_length=100)]],
) -> EventOut:
    """One event and its delivery status for each webhook the caller can see."""
    doc = None
    if has_prefix(event_id, "evt"):
        doc = await ctx.db[documents.EVENTS].find_one({"_id": event_id})
    if doc is None or doc.get("organization_id") != caller.organization_id:
        raise NotFound("no such event", {"id": event_id})
    event = requeue.event_from_document(doc)
    deliveries = await delivery_status.of_event(ctx.db, event.id, caller.organization_id)
    visible = {
        str(w["_id"])
        for w in await ctx.db[documents.WEBHOOKS]
        .find({"_id": {"$in": [d.webhook_id for d in deliveries]}, **webhook_store.visible_to(caller)}, {"_id": 1})
        .to_list(None)
    }
    return EventOut(
        id=event.id,
        type=event.type,
        created_at=event.created_at,
        organization_id=event.organization_id,
        session_id=event.session_id,
        data=event.data,
        deliveries=[
            EventDeliveryOut(
                delivery_id=d.id,
                webhook_id=d.webhook_id,
                status=d.status,
                attempts=d.attempts,
                last_status_code=d.last_status_code,
                last_error=d.last_error,
                updated_at=d.updated_at,
            )
            for d in sorted(deliveries, key=lambda d: d.webhook_id)
            if d.webhook_id in visible
        ],
    )


HANDLERS: list[HTTPRouteHandler] = [list_attempts, replay, retry_delivery, get_event]
