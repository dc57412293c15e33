"""Routes of the webhook resource: create, list, get, patch, delete, rotate-secret and test."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from hookline_api import webhook_store
from hookline_api.caller import Caller, may_manage, may_read
from hookline_api.context import ApiContext
from hookline_api.dependencies import IdempotencyKey
from hookline_api.openapi_docs import READ_ERRORS, WRITE_ERRORS, error_responses
from hookline_api.requeue import queue_test
from hookline_api.webhook_schemas import (
    RotatedSecret,
    RotateIn,
    TestQueued,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
)
from hookline_api.webhook_views import webhook_out

Ctx = NamedDependency[ApiContext]
Who = NamedDependency[Caller]
WebhookId = FromPath[Annotated[str, Parameter(description="The webhook's id, `wh_…`.", max_length=100)]]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Page size, 1 to 100.")]
Cursor = Annotated[str, QueryParameter(max_length=100, description="`next_cursor` of the previous page.")]


@post("/webhooks", status_code=201, guards=[may_manage], responses=error_responses(*WRITE_ERRORS), tags=["webhooks"])
async def create_webhook(
    ctx: Ctx, caller: Who, data: JSONBody[WebhookIn], idempotency_key: IdempotencyKey = None
) -> WebhookCreated:
    """Create a webhook. The answer carries `signing_secret` (or, for ed25519, `verification_key`): keep it."""
    webhook, secret = await webhook_store.create(ctx, caller, data)
    out = webhook_out(webhook)
    created = WebhookCreated(**msgspec.structs.asdict(out))
    if secret is not None:
        created.signing_secret = secret
    return created


@get("/webhooks", guards=[may_read], responses=error_responses(*READ_ERRORS), tags=["webhooks"])
async def list_webhooks(ctx: Ctx, caller: Who, limit: Limit = 20, cursor: Cursor = "") -> WebhookPage:
    """Webhooks newest first; `next_cursor` is "" on the last page."""
    found, next_cursor = await webhook_store.page(ctx, caller, limit, cursor)
    return WebhookPage(data=[webhook_out(w) for w in found], next_cursor=next_cursor)


@get("/webhooks/{webhook_id:str}", guards=[may_read], responses=error_responses(*READ_ERRORS), tags=["webhooks"])
async def get_webhook(ctx: Ctx, caller: Who, webhook_id: WebhookId) -> WebhookOut:
    return webhook_out(await webhook_store.get(ctx, caller, webhook_id))


@patch("/webhooks/{webhook_id:str}", guards=[may_manage], responses=error_responses(*WRITE_ERRORS), tags=["webhooks"])
async def update_webhook(ctx: Ctx, caller: Who, webhook_id: WebhookId, data: JSONBody[WebhookPatch]) -> WebhookOut:
    """Change some fields. `{"active": false}` disables the webhook ("disabled by the caller"); `true` enables it."""
    return webhook_out(await webhook_store.patch(ctx, caller, webhook_id, data))


@delete(
    "/webhooks/{webhook_id:str}",
    status_code=204,
    guards=[may_manage],
    responses=error_responses(*READ_ERRORS),
    tags=["webhooks"],
)
async def delete_webhook(ctx: Ctx, caller: Who, webhook_id: WebhookId) -> None:
    await webhook_store.delete(ctx, caller, webhook_id)


@post(
    "/webhooks/{webhook_id:str}/rotate-secret",
    status_code=200,
    guards=[may_manage],
    responses=error_responses(*WRITE_ERRORS),
    tags=["webhooks"],
)
async def rotate_secret(
    ctx: Ctx,
    caller: Who,
    webhook_id: WebhookId,
    data: JSONBody[RotateIn | None] = None,
    idempotency_key: IdempotencyKey = None,
) -> RotatedSecret:
    """Issue a new signing secret (or ed25519 key pair); the previous one keeps signing alongside it for 24 h."""
    return await webhook_store.rotate(ctx, caller, webhook_id, None if data is None else data.secret)


@post(
    "/webhooks/{webhook_id:str}/test",
    status_code=202,
    guards=[may_manage],
    responses=error_responses(*WRITE_ERRORS),
    tags=["webhooks"],
)
async def test_webhook(
    ctx: Ctx, caller: Who, webhook_id: WebhookId, idempotency_key: IdempotencyKey = None
) -> TestQueued:
    """Queue a `webhook.test` event for this webhook only."""
    webhook = await webhook_store.get(ctx, caller, webhook_id)
    event_id, delivery_id = await queue_test(ctx, webhook)
    return TestQueued(event_id=event_id, delivery_id=delivery_id)


HANDLERS: list[HTTPRouteHandler] = [
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_secret,
    test_webhook,
]
