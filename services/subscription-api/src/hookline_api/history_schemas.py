"""Bodies of the delivery history routes: attempts, replays, retries and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec


class AttemptOut(msgspec.Struct, kw_only=True):
    id: str
    event_id: str
    delivery_id: str
    attempt: int
    status: Literal["succeeded", "failed"]
    status_code: int | None
    error: str | None
    latency_ms: float
    response_body: str | None
    next_retry_at: datetime | None
    created_at: datetime


class AttemptPage(msgspec.Struct, kw_only=True):
    data: list[AttemptOut]
    next_cursor: str


class ReplayIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: datetime
    until: datetime | None = None
    status: Literal["failed", "all"] = "failed"


class ReplayQueued(msgspec.Struct, kw_only=True):
    queued: int
    status: Literal["failed", "all"]
    since: datetime
    until: datetime


class RetryQueued(msgspec.Struct, kw_only=True):
    delivery_id: str
    event_id: str


class EventDeliveryOut(msgspec.Struct, kw_only=True):
    delivery_id: str
    webhook_id: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    updated_at: datetime | None


class EventOut(msgspec.Struct, kw_only=True):
    id: str
    type: str
    created_at: datetime
    organization_id: str
    session_id: str | None
    data: dict[str, Any]
    deliveries: list[EventDeliveryOut]
