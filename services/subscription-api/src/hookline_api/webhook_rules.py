"""The rules a webhook's fields obey beyond their types; each failure names the field and says why."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from hookline import signing
from hookline.matching import valid_pattern
from hookline.public_url import UnsafeTargetError, check_url
from hookline_api.errors import ValidationFailed
from hookline_api.host_check import HostChecker
from hookline_api.webhook_schemas import OidcIn

# Refused in custom_headers: hop-by-hop headers (RFC 9110 §7.6.1) and the ones the HTTP client owns.
REFUSED_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")
_DATA_KEY = re.compile(r"^[^,\s]{1,200}$")


async def checked_url(field: str, url: str, *, allow_private: bool, hosts: HostChecker) -> str:
    """The URL if Hookline may deliver to it. A name that does not resolve (yet) passes: it is checked again at
    every delivery. One that resolves to a private, loopback or otherwise non-public address is refused."""
    try:
        target = check_url(url, allow_private=allow_private)
    except UnsafeTargetError as exc:
        raise ValidationFailed(
            f"{field}: {exc}", {"fields": [{"field": field, "message": str(exc), "reason": exc.reason}]}
        ) from None
    if target.ip is None and not allow_private:
        reason = await hosts.refusal(target.host, target.port)
        if reason is not None:
            message = f"{target.host} resolves to a non-public address ({reason})"
            raise ValidationFailed(
                f"{field}: {message}", {"fields": [{"field": field, "message": message, "reason": reason}]}
            )
    return url


def checked_events(events: Iterable[str], known: set[str]) -> list[str]:
    """Exact types must exist in the organization's catalogue. `prefix.*` patterns are accepted whether or not a
    type with that prefix exists yet, so a subscription can cover types registered later."""
    unique = list(dict.fromkeys(events))
    for index, pattern in enumerate(unique):
        field = f"events[{index}]"
        if not valid_pattern(pattern):
            raise ValidationFailed.field(field, f"{pattern!r} is not an event type, a `prefix.*` pattern or `*`")
        if pattern == "*" and len(unique) > 1:
            raise ValidationFailed.field("events", '"*" already matches every type; send ["*"] alone')
        if pattern != "*" and not pattern.endswith(".*") and pattern not in known:
            raise ValidationFailed.field(
                field, f"unknown event type {pattern!r}; register it with POST /v1/event-types first"
            )
    return unique


def checked_include(include: str) -> str:
    if include in ("*", "identifiers"):
        return include
    keys = [part.strip() for part in include.split(",")]
    for key in keys:
        if not _DATA_KEY.match(key):
            raise ValidationFailed.field(
                "include", 'must be "*", "identifiers", or a comma-separated list of top-level keys of data'
            )
    return ",".join(dict.fromkeys(keys))


def checked_headers(headers: dict[str, str]) -> dict[str, str]:
    seen: set[str] = set()
    for name, value in headers.items():
        field = f"custom_headers.{name}"
        lowered = name.lower()
        if not _TOKEN.match(name):
            raise ValidationFailed.field(field, "is not a valid HTTP header name")
        if lowered in REFUSED_HEADERS or lowered.startswith("proxy-"):
            raise ValidationFailed.field(field, "hop-by-hop and connection headers cannot be set")
        if lowered in seen:
            raise ValidationFailed.field(field, "is given twice (header names are case-insensitive)")
        if not _FIELD_VALUE.match(value):
            raise ValidationFailed.field(field, "the value must not contain control characters or line breaks")
        seen.add(lowered)
    return headers


def checked_secret(secret: str | None, scheme: str) -> None:
    if secret is None:
        return
    if scheme == "ed25519":
        raise ValidationFailed.field("secret", "ed25519 webhooks get a generated key pair; leave secret out")
    try:
        signing.validate_secret(secret)
    except ValueError as exc:
        raise ValidationFailed.field("secret", str(exc)) from None


async def checked_oidc(oidc: OidcIn, *, allow_private: bool, hosts: HostChecker, has_stored_secret: bool) -> None:
    await checked_url("oidc.token_endpoint", oidc.token_endpoint, allow_private=allow_private, hosts=hosts)
    if oidc.auth_method == "client_secret" and oidc.client_secret is None and not has_stored_secret:
        raise ValidationFailed.field("oidc.client_secret", 'is required when auth_method is "client_secret"')
    if oidc.auth_method == "private_key_jwt" and oidc.client_secret is not None:
        raise ValidationFailed.field(
            "oidc.client_secret", 'is not used with auth_method "private_key_jwt"; leave it out'
        )
