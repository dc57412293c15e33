"""The identity provider's JWKS, fetched with httpx and cached; refetched (at most every 30 s) for an unknown kid."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import httpx
import jwt
import structlog

log = structlog.get_logger(__name__)

CACHE_SECONDS: Final = 300.0
REFRESH_FLOOR_SECONDS: Final = 30.0


class JwksUnavailable(Exception):
    pass


class JwksCache:
    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self._url = url
        self._client = client
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        """The key a token names (or the only key, for a token without `kid`); None when it is unknown."""
        now = time.monotonic()
        if now - self._fetched_at > CACHE_SECONDS or (
            self._lookup(kid) is None and now - self._fetched_at > REFRESH_FLOOR_SECONDS
        ):
            await self._refresh()
        return self._lookup(kid)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1.0:
                return  # another request refreshed it while this one waited
            try:
                response = await self._client.get(self._url, timeout=5.0)
                response.raise_for_status()
                body: Any = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks fetch failed", error_type=type(exc).__name__)
                if not self._keys:
                    raise JwksUnavailable("the identity provider's keys could not be fetched") from None
                return
            keys: dict[str, jwt.PyJWK] = {}
            for index, entry in enumerate(body.get("keys", []) if isinstance(body, dict) else []):
                try:
                    key = jwt.PyJWK(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
                    continue  # keys of kinds we do not verify with are skipped
                keys[str(entry.get("kid") or f"#{index}")] = key
            self._keys = keys
            self._fetched_at = time.monotonic()
