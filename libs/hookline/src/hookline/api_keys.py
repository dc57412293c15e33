"""API keys: `hl_live_` + 43 random URL-safe characters, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

KEY_PREFIX: Final = "hl_live_"
SCOPES: Final = frozenset({"webhooks.read", "webhooks.manage", "events.publish"})
_KEY_RE: Final = re.compile(r"^hl_live_[A-Za-z0-9_-]{32,128}$")


def generate_api_key() -> str:
    # 32 random bytes: a digest of them needs no salt or slow hash, there is nothing to guess.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(value: str) -> bool:
    return bool(_KEY_RE.match(value))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)


def display_prefix(key: str) -> str:
    """What may be shown later to tell keys apart: the prefix and four characters."""
    return key[: len(KEY_PREFIX) + 4]


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.replace(" ", ",").split(",") if s.strip())
    unknown = scopes - SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}; known: {', '.join(sorted(SCOPES))}")
    if not scopes:
        raise ValueError("at least one scope is needed")
    return scopes
