"""Request and response bodies of the webhook resource (DESIGN.md §4): `WebhookIn`, `WebhookPatch`, `WebhookOut`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hookline.messages import SignatureScheme
from hookline.public_url import MAX_URL_LENGTH
from hookline.retry_schedule import RetryPolicy

MAX_EVENTS = 100
MAX_DESCRIPTION = 500
MAX_CUSTOM_HEADERS = 20

Url = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Public https:// URL that receives deliveries.",
        examples=["https://example.com/webhooks/hookline"],
    ),
]
Events = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=200)]],
    Meta(
        min_length=1,
        max_length=MAX_EVENTS,
        description='Event types from the catalogue, `"prefix.*"` patterns, or `["*"]` for every type.',
        examples=[["member.added", "invoice.*"]],
    ),
]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION, description="Free text, at most 500 characters.")]
SessionId = Annotated[
    str, Meta(min_length=1, max_length=255, description="Deliver only events of this session; null = every session.")
]
Include = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        description='`"*"` for the full payload, `"identifiers"` for top-level scalars of `data`, or a comma list of '
        "top-level keys of `data` to keep.",
        examples=["*"],
    ),
]
CustomHeaders = Annotated[
    dict[Annotated[str, Meta(min_length=1, max_length=256)], Annotated[str, Meta(max_length=4096)]],
    Meta(max_length=MAX_CUSTOM_HEADERS, description="Up to 20 headers sent with every delivery, applied last."),
]
RateLimit = Annotated[float, Meta(gt=0, le=100_000, description="Deliveries per second; null = unlimited.")]
Secret = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="Your own signing secret: `whsec_` + base64 of 24 to 64 bytes. Generated when absent.",
    ),
]


class OidcIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """OAuth 2.0 client credentials Hookline uses to fetch a bearer token for every delivery."""

    auth_method: Literal["client_secret", "private_key_jwt"]
    client_id: Annotated[str, Meta(min_length=1, max_length=255)]
    token_endpoint: Annotated[str, Meta(min_length=1, max_length=MAX_URL_LENGTH)]
    # Write-only: sealed at rest, never returned.
    client_secret: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None
    scope: Annotated[str, Meta(max_length=1024)] | None = None
    resource_uri: Annotated[str, Meta(max_length=MAX_URL_LENGTH)] | None = None
    access_token_ttl_seconds: Annotated[int, Meta(ge=1, le=86_400)] | None = None


class OidcOut(msgspec.Struct, kw_only=True):
    auth_method: Literal["client_secret", "private_key_jwt"]
    client_id: str
    token_endpoint: str
    scope: str | None
    resource_uri: str | None
    access_token_ttl_seconds: int | None
    client_secret_set: bool


class WebhookIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    events: Events
    description: Description | None = None
    secret: Secret | None = None
    session_id: SessionId | None = None
    include: Include = "*"
    custom_headers: CustomHeaders = {}
    retry_policy: RetryPolicy = RetryPolicy()
    signature_scheme: SignatureScheme = "standard"
    oidc: OidcIn | None = None
    rate_limit_per_second: RateLimit | None = None
    active: bool = True


class WebhookPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change; `null` clears an optional field. The secret changes by rotation only."""

    url: Url | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    session_id: SessionId | UnsetType | None = UNSET
    include: Include | UnsetType = UNSET
    custom_headers: CustomHeaders | UnsetType = UNSET
    retry_policy: RetryPolicy | UnsetType = UNSET
    signature_scheme: SignatureScheme | UnsetType = UNSET
    oidc: OidcIn | UnsetType | None = UNSET
    rate_limit_per_second: RateLimit | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET
    status: Literal["enabled", "disabled"] | UnsetType = UNSET


class WebhookOut(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    description: str | None
    session_id: str | None
    include: str
    custom_headers: dict[str, str]
    retry_policy: RetryPolicy
    signature_scheme: SignatureScheme
    oidc: OidcOut | None
    rate_limit_per_second: float | None
    active: bool
    status: Literal["enabled", "disabled"]
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    # Only for ed25519 webhooks: the public key receivers verify with.
    verification_key: str | UnsetType = UNSET


class WebhookCreated(WebhookOut, kw_only=True):
    # Returned by create only, never again; absent for ed25519 (whose private key never leaves Hookline).
    signing_secret: str | UnsetType = UNSET


class WebhookPage(msgspec.Struct, kw_only=True):
    data: list[WebhookOut]
    next_cursor: str


class RotateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    secret: Secret | None = None


class RotatedSecret(msgspec.Struct, kw_only=True):
    signing_secret: str | UnsetType = UNSET
    verification_key: str | UnsetType = UNSET
    previous_expires_at: datetime | None = None


class TestQueued(msgspec.Struct, kw_only=True):
    event_id: str
    delivery_id: str
