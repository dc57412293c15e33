"""The webhook record shared by the API and the dispatcher, and the one path every change takes.

A change is written to MongoDB first (with `version` incremented) and then published, whole, to the
compacted topic `hookline.endpoints` keyed by webhook id; a delete publishes a tombstone. Readers keep the
highest `version` they have seen for a webhook, so a late, older copy never overwrites a newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from aiokafka import AIOKafkaProducer
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, topics
from hookline.messages import OidcConfig, SignatureScheme, SigningKey, WebhookConfig
from hookline.mongo import Document
from hookline.retry_schedule import RetryPolicy


class Webhook(msgspec.Struct, kw_only=True):
    """The `webhooks` document. Secrets inside are sealed (hookline.secret_box), bound to the webhook id."""

    id: str = msgspec.field(name="_id")
    organization_id: str
    url: str
    events: list[str]
    description: str | None = None
    session_id: str | None = None
    include: str = "*"
    custom_headers: dict[str, str] = {}
    retry_policy: RetryPolicy = RetryPolicy()
    signature_scheme: SignatureScheme = "standard"
    # Newest first; a rotated-out key carries `expires_at` and keeps signing until then.
    signing_keys: list[SigningKey] = []
    verification_key: str | None = None
    oidc: OidcConfig | None = None
    rate_limit_per_second: float | None = None
    active: bool = True
    status: Literal["enabled", "disabled"] = "enabled"
    status_reason: str | None = None
    # "dashboard" (API keys and person logins) or "client:<oauth client id>".
    owner: str = "dashboard"
    version: int = 1
    created_at: datetime
    updated_at: datetime


def to_config(webhook: Webhook) -> WebhookConfig:
    return WebhookConfig(
        id=webhook.id,
        organization_id=webhook.organization_id,
        url=webhook.url,
        events=webhook.events,
        session_id=webhook.session_id,
        include=webhook.include,
        custom_headers=webhook.custom_headers,
        retry_policy=webhook.retry_policy,
        signature_scheme=webhook.signature_scheme,
        signing_keys=webhook.signing_keys,
        oidc=webhook.oidc,
        rate_limit_per_second=webhook.rate_limit_per_second,
        active=webhook.active,
        status=webhook.status,
        status_reason=webhook.status_reason,
        owner=webhook.owner,
        version=webhook.version,
        updated_at=webhook.updated_at,
    )


def from_document(doc: Document) -> Webhook:
    return msgspec.convert(doc, Webhook, strict=False)


def to_document(webhook: Webhook) -> Document:
    doc: Document = msgspec.to_builtins(webhook, builtin_types=(datetime,))
    return doc


async def publish_config(producer: AIOKafkaProducer, webhook: Webhook) -> None:
    """Publishes the webhook's config and waits for the broker's acknowledgement."""
    value = msgspec.json.encode(to_config(webhook))
    await producer.send_and_wait(topics.ENDPOINTS, value, key=webhook.id.encode())


async def publish_tombstone(producer: AIOKafkaProducer, webhook_id: str) -> None:
    await producer.send_and_wait(topics.ENDPOINTS, None, key=webhook_id.encode())


def decode_config(value: bytes | None) -> WebhookConfig | None:
    """A message of `hookline.endpoints`: the config, or None for a tombstone."""
    return None if value is None else msgspec.json.decode(value, type=WebhookConfig)


async def update(
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    webhook_id: str,
    changes: dict[str, Any],
    *,
    organization_id: str | None = None,
    expected_version: int | None = None,
) -> Webhook | None:
    """Applies `changes` (document field names) with a version bump, then publishes the result.

    Returns None when no such webhook exists (in that organization, when one is given; at that version, when
    `expected_version` is given, so a change computed from what was read never overwrites a newer one).
    """
    query: Document = {"_id": webhook_id}
    if organization_id is not None:
        query["organization_id"] = organization_id
    if expected_version is not None:
        query["version"] = expected_version
    doc = await db[documents.WEBHOOKS].find_one_and_update(
        query,
        {"$set": {**changes, "updated_at": datetime.now(UTC)}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    webhook = from_document(doc)
    await publish_config(producer, webhook)
    return webhook


async def set_status(
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    webhook_id: str,
    status: Literal["enabled", "disabled"],
    reason: str | None,
) -> Webhook | None:
    """Enables or disables a webhook (the API on request, the dispatcher's circuit breaker and 410s)."""
    return await update(db, producer, webhook_id, {"status": status, "status_reason": reason})
