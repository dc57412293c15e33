"""Webhook operations: every write goes to MongoDB first and then, through hookline.webhooks, to the change feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
from msgspec import UnsetType
from pymongo import DESCENDING

from hookline import documents, signing, webhooks
from hookline.ids import has_prefix, new_id
from hookline.messages import OidcConfig, SigningKey
from hookline.mongo import Document
from hookline.webhooks import Webhook
from hookline_api.caller import Caller
from hookline_api.context import ApiContext
from hookline_api.errors import NotFound, ValidationFailed
from hookline_api.event_type_store import known_type_names
from hookline_api.webhook_rules import (
    checked_events,
    checked_headers,
    checked_include,
    checked_oidc,
    checked_secret,
    checked_url,
)
from hookline_api.webhook_schemas import OidcIn, RotatedSecret, WebhookIn, WebhookPatch

ROTATION_OVERLAP: Final = timedelta(hours=24)
DISABLED_BY_CALLER: Final = "disabled by the caller"


def visible_to(caller: Caller) -> Document:
    """The filter every webhook query carries: the caller's organization, and only what its owner may see."""
    return {"organization_id": caller.organization_id, "owner": caller.owner}


async def get(ctx: ApiContext, caller: Caller, webhook_id: str) -> Webhook:
    if not has_prefix(webhook_id, "wh"):
        raise NotFound("no such webhook", {"id": webhook_id})
    # By `_id` alone, then the tenant check here: FerretDB answers a bare `_id` lookup from its primary key but
    # scans for a compound filter. Organization and owner never change, so checking them after is equivalent.
    doc = await ctx.db[documents.WEBHOOKS].find_one({"_id": webhook_id})
    if doc is None or any(doc.get(field) != value for field, value in visible_to(caller).items()):
        raise NotFound("no such webhook", {"id": webhook_id})
    return webhooks.from_document(doc)


async def page(ctx: ApiContext, caller: Caller, limit: int, cursor: str) -> tuple[list[Webhook], str]:
    query = visible_to(caller)
    if cursor:
        if not has_prefix(cursor, "wh"):
            raise ValidationFailed.field("cursor", "is not a cursor this API returned")
        query["_id"] = {"$lt": cursor}
    docs = await ctx.db[documents.WEBHOOKS].find(query).sort("_id", DESCENDING).limit(limit + 1).to_list(None)
    found = [webhooks.from_document(d) for d in docs[:limit]]
    return found, found[-1].id if len(docs) > limit else ""


def _sealed_oidc(ctx: ApiContext, webhook_id: str, oidc: OidcIn, previous: OidcConfig | None) -> OidcConfig:
    sealed = None
    if oidc.client_secret is not None:
        sealed = ctx.box.seal(oidc.client_secret, context=webhook_id)
    elif previous is not None and oidc.auth_method == "client_secret":
        sealed = previous.client_secret_sealed  # write-only field: a PATCH without it keeps the stored one
    return OidcConfig(
        auth_method=oidc.auth_method,
        client_id=oidc.client_id,
        token_endpoint=oidc.token_endpoint,
        scope=oidc.scope,
        resource_uri=oidc.resource_uri,
        access_token_ttl_seconds=oidc.access_token_ttl_seconds,
        client_secret_sealed=sealed,
    )


async def create(ctx: ApiContext, caller: Caller, body: WebhookIn) -> tuple[Webhook, str | None]:
    """Stores and publishes a new webhook; returns it with the plaintext signing secret (None for ed25519)."""
    allow_private = ctx.settings.allow_private_targets
    url = await checked_url("url", body.url, allow_private=allow_private, hosts=ctx.hosts)
    events = checked_events(body.events, await known_type_names(ctx, caller.organization_id))
    include = checked_include(body.include)
    headers = checked_headers(body.custom_headers)
    checked_secret(body.secret, body.signature_scheme)
    if body.oidc is not None:
        await checked_oidc(body.oidc, allow_private=allow_private, hosts=ctx.hosts, has_stored_secret=False)
    webhook_id = new_id("wh")
    verification_key = None
    if body.signature_scheme == "ed25519":
        key, verification_key = signing.generate_ed25519_keypair()
        shown: str | None = None
    else:
        key = body.secret or signing.generate_secret(body.signature_scheme)
        shown = key
    now = datetime.now(UTC)
    webhook = Webhook(
        id=webhook_id,
        organization_id=caller.organization_id,
        url=url,
        events=events,
        description=body.description,
        session_id=body.session_id,
        include=include,
        custom_headers=headers,
        retry_policy=body.retry_policy,
        signature_scheme=body.signature_scheme,
        signing_keys=[SigningKey(sealed=ctx.box.seal(key, context=webhook_id))],
        verification_key=verification_key,
        oidc=None if body.oidc is None else _sealed_oidc(ctx, webhook_id, body.oidc, None),
        rate_limit_per_second=body.rate_limit_per_second,
        active=body.active,
        status="enabled" if body.active else "disabled",
        status_reason=None if body.active else DISABLED_BY_CALLER,
        owner=caller.owner,
        created_at=now,
        updated_at=now,
    )
    # Mongo rounds times to milliseconds; round here too so the answer equals what GET returns later.
    webhook.created_at = webhook.updated_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    await ctx.db[documents.WEBHOOKS].insert_one(webhooks.to_document(webhook))
    try:
        await webhooks.publish_config(ctx.producer, webhook)
    except BaseException:
        # Unpublished, the webhook would exist for the API but never for fan-out: undo, and let the caller retry.
        await ctx.db[documents.WEBHOOKS].delete_one({"_id": webhook_id})
        raise
    return webhook, shown


async def patch(ctx: ApiContext, caller: Caller, webhook_id: str, body: WebhookPatch) -> Webhook:
    current = await get(ctx, caller, webhook_id)
    allow_private = ctx.settings.allow_private_targets
    changes: dict[str, Any] = {}
    if not isinstance(body.url, UnsetType):
        changes["url"] = await checked_url("url", body.url, allow_private=allow_private, hosts=ctx.hosts)
    if not isinstance(body.events, UnsetType):
        changes["events"] = checked_events(body.events, await known_type_names(ctx, caller.organization_id))
    if not isinstance(body.description, UnsetType):
        changes["description"] = body.description
    if not isinstance(body.session_id, UnsetType):
        changes["session_id"] = body.session_id
    if not isinstance(body.include, UnsetType):
        changes["include"] = checked_include(body.include)
    if not isinstance(body.custom_headers, UnsetType):
        changes["custom_headers"] = checked_headers(body.custom_headers)
    if not isinstance(body.retry_policy, UnsetType):
        changes["retry_policy"] = msgspec.to_builtins(body.retry_policy)
    if not isinstance(body.signature_scheme, UnsetType) and body.signature_scheme != current.signature_scheme:
        if "ed25519" in (body.signature_scheme, current.signature_scheme):
            raise ValidationFailed.field(
                "signature_scheme",
                "cannot switch between ed25519 and the HMAC schemes (they use different keys); create a new webhook",
            )
        changes["signature_scheme"] = body.signature_scheme
    if not isinstance(body.oidc, UnsetType):
        if body.oidc is None:
            changes["oidc"] = None
        else:
            await checked_oidc(
                body.oidc,
                allow_private=allow_private,
                hosts=ctx.hosts,
                has_stored_secret=current.oidc is not None and current.oidc.client_secret_sealed is not None,
            )
            changes["oidc"] = msgspec.to_builtins(_sealed_oidc(ctx, current.id, body.oidc, current.oidc))
    if not isinstance(body.rate_limit_per_second, UnsetType):
        changes["rate_limit_per_second"] = body.rate_limit_per_second
    enable = _enable_switch(body)
    if enable is True:
        changes.update(active=True, status="enabled", status_reason=None)
    elif enable is False:
        changes.update(active=False, status="disabled", status_reason=DISABLED_BY_CALLER)
    if not changes:
        return current
    # Visibility was checked by `get`; the update goes by `_id` alone (see `get`).
    updated = await webhooks.update(ctx.db, ctx.producer, webhook_id, changes)
    if updated is None:
        raise NotFound("no such webhook", {"id": webhook_id})
    return updated


def _enable_switch(body: WebhookPatch) -> bool | None:
    """`active` and `status` are one switch for the caller; disagreeing values are refused."""
    wanted = {
        *(() if isinstance(body.active, UnsetType) else (body.active,)),
        *(() if isinstance(body.status, UnsetType) else (body.status == "enabled",)),
    }
    if len(wanted) > 1:
        raise ValidationFailed.field("status", "contradicts active; send one of them, or matching values")
    return next(iter(wanted)) if wanted else None


async def delete(ctx: ApiContext, caller: Caller, webhook_id: str) -> None:
    await get(ctx, caller, webhook_id)
    result = await ctx.db[documents.WEBHOOKS].delete_one({"_id": webhook_id})
    if result.deleted_count == 0:
        raise NotFound("no such webhook", {"id": webhook_id})
    await webhooks.publish_tombstone(ctx.producer, webhook_id)


async def rotate(ctx: ApiContext, caller: Caller, webhook_id: str, secret: str | None) -> RotatedSecret:
    """A new key signs first; the previous ones keep signing alongside it for 24 h."""
    current = await get(ctx, caller, webhook_id)
    checked_secret(secret, current.signature_scheme)
    now = datetime.now(UTC)
    overlap_until = now + ROTATION_OVERLAP
    verification_key = current.verification_key
    if current.signature_scheme == "ed25519":
        key, verification_key = signing.generate_ed25519_keypair()
        answer = RotatedSecret(verification_key=verification_key, previous_expires_at=overlap_until)
    else:
        key = secret or signing.generate_secret(current.signature_scheme)
        answer = RotatedSecret(signing_secret=key, previous_expires_at=overlap_until)
    kept = [
        SigningKey(
            sealed=k.sealed, expires_at=overlap_until if k.expires_at is None else min(k.expires_at, overlap_until)
        )
        for k in current.signing_keys
        if k.expires_at is None or k.expires_at > now
    ]
    keys = [SigningKey(sealed=ctx.box.seal(key, context=webhook_id)), *kept]
    updated = await webhooks.update(
        ctx.db,
        ctx.producer,
        webhook_id,
        {
            "signing_keys": msgspec.to_builtins(keys, builtin_types=(datetime,)),
            "verification_key": verification_key,
        },
    )
    if updated is None:
        raise NotFound("no such webhook", {"id": webhook_id})
    return (
        answer
        if kept
        else RotatedSecret(signing_secret=answer.signing_secret, verification_key=answer.verification_key)
    )
