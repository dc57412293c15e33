"""API-key authentication for `POST /v1/events`: `Bearer` or `AccessKey` with an `hl_live_` key."""

from __future__ import annotations

import msgspec
from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, documents
from hookline.mongo import Document
from hookline_ingest.errors import Forbidden, Unauthorized
from hookline_ingest.ttl_cache import TtlCache

PUBLISH_SCOPE = "events.publish"
SCHEMES = ("bearer", "accesskey")


class Caller(msgspec.Struct, frozen=True):
    organization_id: str
    scopes: frozenset[str]


class ApiKeyAuthenticator:
    def __init__(self, db: AsyncDatabase[Document], *, ttl_seconds: float = 10.0) -> None:
        self._keys = db[documents.API_KEYS]
        # Keyed by the key's hash, never the key; a revoked key stops working within `ttl_seconds`.
        self._known: TtlCache[str, Caller] = TtlCache(ttl_seconds)
        self._unknown: TtlCache[str, bool] = TtlCache(1.0)

    async def publisher(self, authorization: str | None) -> Caller:
        """The caller behind the header, allowed to publish; raises Unauthorized or Forbidden."""
        caller = await self._caller(authorization)
        if PUBLISH_SCOPE not in caller.scopes:
            raise Forbidden(f"this API key lacks the {PUBLISH_SCOPE} scope")
        return caller

    async def _caller(self, authorization: str | None) -> Caller:
        scheme, _, key = (authorization or "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() not in SCHEMES or not api_keys.looks_like_api_key(key):
            raise Unauthorized("send an API key as `Authorization: Bearer hl_live_…`")
        digest = api_keys.hash_api_key(key)
        caller = self._known.get(digest)
        if caller is not None:
            return caller
        if not self._unknown.get(digest):
            caller = await self._lookup(digest)
            if caller is not None:
                self._known.put(digest, caller)
                return caller
            self._unknown.put(digest, True)
        raise Unauthorized("the API key is not valid")

    async def _lookup(self, digest: str) -> Caller | None:
        doc = await self._keys.find_one({"hash": digest})
        if doc is None or doc.get("revoked_at") is not None:
            return None
        return Caller(organization_id=str(doc["organization_id"]), scopes=frozenset(doc.get("scopes") or ()))
