"""OAuth 2.0 client-credentials tokens for webhooks with `oidc`: fetched once, cached per webhook until near expiry."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import msgspec

from hookline.assertion_key import ALGORITHM, AssertionKey
from hookline.messages import OidcConfig
from hookline.secret_box import SecretBox, SecretBoxError
from hookline_dispatcher.sender import Sender, SendError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
DEFAULT_TOKEN_TTL_SECONDS = 300
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024


class TokenError(Exception):
    """No access token could be had; the attempt fails with error `auth`. The message never holds a secret."""


class _TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: float | None = None
    token_type: str | None = None


@dataclass(frozen=True)
class _Cached:
    fingerprint: bytes
    token: str
    refresh_at: float


def refresh_margin(ttl: float) -> float:
    """How long before expiry a token is replaced: a tenth of its life, at most 30 s."""
    return min(30.0, ttl / 10)


class OidcTokens:
    def __init__(
        self,
        sender: Sender,
        box: SecretBox,
        assertion_key: Callable[[], Awaitable[AssertionKey]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sender = sender
        self._box = box
        self._assertion_key = assertion_key
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.requests = 0

    def invalidate(self, webhook_id: str) -> None:
        self._cache.pop(webhook_id, None)

    async def token(self, webhook_id: str, oidc: OidcConfig) -> str:
        fingerprint = msgspec.json.encode(oidc)
        cached = self._fresh(webhook_id, fingerprint)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(webhook_id, asyncio.Lock())
        async with lock:
            # Whoever held the lock before us may have fetched it already.
            cached = self._fresh(webhook_id, fingerprint)
            if cached is not None:
                return cached
            token, ttl = await self._request(webhook_id, oidc)
            self._cache[webhook_id] = _Cached(fingerprint, token, self._clock() + ttl - refresh_margin(ttl))
            return token

    def _fresh(self, webhook_id: str, fingerprint: bytes) -> str | None:
        cached = self._cache.get(webhook_id)
        if cached is None or cached.fingerprint != fingerprint or self._clock() >= cached.refresh_at:
            return None
        return cached.token

    async def _request(self, webhook_id: str, oidc: OidcConfig) -> tuple[str, float]:
        form: dict[str, str] = {"grant_type": "client_credentials", "client_id": oidc.client_id}
        if oidc.scope:
            form["scope"] = oidc.scope
        if oidc.resource_uri:
            form["resource"] = oidc.resource_uri
        if oidc.auth_method == "client_secret":
            form["client_secret"] = self._client_secret(webhook_id, oidc)
        else:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = await self._assertion(oidc)
        self.requests += 1
        try:
            response = await self._sender.post(
                oidc.token_endpoint,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                read_limit=MAX_TOKEN_RESPONSE_BYTES,
                pool_key=f"oidc:{webhook_id}",
            )
        except SendError as exc:
            raise TokenError(f"token endpoint unreachable ({exc.kind})") from None
        if response.status_code != 200:
            raise TokenError(f"token endpoint answered {response.status_code}")
        try:
            parsed = msgspec.json.decode(response.body, type=_TokenResponse)
        except msgspec.DecodeError:
            raise TokenError("token endpoint answered without an access_token") from None
        if not parsed.access_token:
            raise TokenError("token endpoint answered an empty access_token")
        return parsed.access_token, token_ttl(parsed.expires_in, oidc.access_token_ttl_seconds)

    def _client_secret(self, webhook_id: str, oidc: OidcConfig) -> str:
        if not oidc.client_secret_sealed:
            raise TokenError("the webhook's OIDC client secret is missing")
        try:
            return self._box.open(oidc.client_secret_sealed, context=webhook_id)
        except SecretBoxError:
            raise TokenError("the webhook's OIDC client secret cannot be opened") from None

    async def _assertion(self, oidc: OidcConfig) -> str:
        key = await self._assertion_key()
        now = int(time.time())
        claims = {
            "iss": oidc.client_id,
            "sub": oidc.client_id,
            "aud": oidc.token_endpoint,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        }
        return jwt.encode(claims, key.private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})


def token_ttl(expires_in: float | None, configured: int | None) -> float:
    """The token's life: what the endpoint said, capped by the webhook's `access_token_ttl_seconds` when set."""
    candidates = [float(v) for v in (expires_in, configured) if v is not None and v > 0]
    return min(candidates) if candidates else float(DEFAULT_TOKEN_TTL_SECONDS)
