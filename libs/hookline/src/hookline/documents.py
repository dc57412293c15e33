"""msgspec Structs of the documents Hookline keeps in MongoDB, and their collection names."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

import msgspec

ORGANIZATIONS: Final = "organizations"
API_KEYS: Final = "api_keys"
WEBHOOKS: Final = "webhooks"
EVENT_TYPES: Final = "event_types"
EVENTS: Final = "events"
EVENT_IDS: Final = "event_ids"
DELIVERIES: Final = "deliveries"
ATTEMPTS: Final = "attempts"
IDEMPOTENCY: Final = "idempotency_keys"


class Organization(msgspec.Struct, kw_only=True):
    id: str = msgspec.field(name="_id")
    name: str
    created_at: datetime


class ApiKey(msgspec.Struct, kw_only=True):
    id: str = msgspec.field(name="_id")
    organization_id: str
    name: str | None = None
    scopes: list[str]
    # SHA-256 of the key; the key itself is shown once and never stored.
    hash: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class Attempt(msgspec.Struct, kw_only=True):
    id: str = msgspec.field(name="_id")
    organization_id: str
    webhook_id: str
    event_id: str
    delivery_id: str
    attempt: int
    status: Literal["succeeded", "failed"]
    status_code: int | None = None
    error: str | None = None
    latency_ms: float
    response_body: str | None = None
    next_retry_at: datetime | None = None
    created_at: datetime
    expires_at: datetime


class Delivery(msgspec.Struct, kw_only=True):
    id: str = msgspec.field(name="_id")
    organization_id: str
    webhook_id: str
    event_id: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
