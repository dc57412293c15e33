"""msgspec Structs of every message on Hookline's Kafka topics."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from hookline.retry_schedule import RetryPolicy

JsonObject = dict[str, Any]
SignatureScheme = Literal["standard", "ed25519", "hmac-sha256-hex", "hmac-sha512-hex"]
DeliveryReason = Literal["event", "retry", "replay", "manual_retry", "test"]


class ProducerEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a producer sends on `hookline.ingest` (key = organization id) or to `POST /v1/events`."""

    type: str
    organization_id: str
    data: JsonObject
    id: str | None = None
    session_id: str | None = None
    occurred_at: datetime | None = None


class EventEnvelope(msgspec.Struct, kw_only=True):
    """An accepted event on `hookline.events` (key = organization id); also the delivered body's shape."""

    id: str
    type: str
    created_at: datetime
    organization_id: str
    session_id: str | None = None
    data: JsonObject = {}


class IngestRejected(msgspec.Struct, kw_only=True):
    """A producer message that was refused, on `hookline.ingest.invalid`, with the original bytes."""

    reason: str
    message: str
    source_topic: str
    source_partition: int
    source_offset: int
    original: bytes
    key: bytes | None = None
    rejected_at: datetime


class OidcConfig(msgspec.Struct, kw_only=True):
    auth_method: Literal["client_secret", "private_key_jwt"]
    client_id: str
    token_endpoint: str
    scope: str | None = None
    resource_uri: str | None = None
    access_token_ttl_seconds: int | None = None
    # Sealed with the master key (hookline.secret_box); never the plaintext.
    client_secret_sealed: str | None = None


class SigningKey(msgspec.Struct, kw_only=True):
    """One live signing secret, sealed; a rotated-out one carries `expires_at`."""

    sealed: str
    expires_at: datetime | None = None


class WebhookConfig(msgspec.Struct, kw_only=True):
    """A webhook as fan-out and dispatchers need it, on the compacted `hookline.endpoints` (key = webhook id)."""

    id: str
    organization_id: str
    url: str
    events: list[str]
    session_id: str | None = None
    include: str = "*"
    custom_headers: dict[str, str] = {}
    retry_policy: RetryPolicy = RetryPolicy()
    signature_scheme: SignatureScheme = "standard"
    signing_keys: list[SigningKey] = []
    oidc: OidcConfig | None = None
    rate_limit_per_second: float | None = None
    active: bool = True
    status: Literal["enabled", "disabled"] = "enabled"
    status_reason: str | None = None
    owner: str = "dashboard"
    version: int = 1
    updated_at: datetime | None = None

    @property
    def receives(self) -> bool:
        return self.active and self.status == "enabled"


class DeliveryTask(msgspec.Struct, kw_only=True):
    """One event to one webhook, on `hookline.deliveries` and the retry tiers (key = webhook id)."""

    delivery_id: str
    webhook_id: str
    organization_id: str
    event: EventEnvelope
    # Attempt number within this round (a replay or manual retry starts a new round at 1)...
    attempt: int = 1
    # ...and attempts recorded in earlier rounds, so recorded attempt numbers keep counting up.
    prior_attempts: int = 0
    reason: DeliveryReason = "event"
    # Unix seconds before which the task must not be attempted (retry tiers hold it until then).
    not_before: float = 0.0
    created_at: datetime | None = None


class DeliveryDead(msgspec.Struct, kw_only=True):
    """A delivery whose attempts are exhausted, on `hookline.deliveries.dead`."""

    task: DeliveryTask
    attempts: int
    last_error: str | None
    last_status_code: int | None
    dead_at: datetime


def encode(message: msgspec.Struct) -> bytes:
    return msgspec.json.encode(message)
