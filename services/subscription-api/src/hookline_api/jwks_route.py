"""`GET /.well-known/jwks.json`: the assertion key and every ed25519 webhook's verification key, as JWKs."""

from __future__ import annotations

import base64
from typing import Any

from litestar import get
from litestar.di import NamedDependency

from hookline import documents, signing
from hookline_api.context import ApiContext


def okp_jwk(webhook_id: str, verification_key: str) -> dict[str, Any]:
    raw = base64.b64decode(verification_key.removeprefix(signing.PUBLIC_KEY_PREFIX))
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": webhook_id, "use": "sig", "alg": "EdDSA"}


@get("/.well-known/jwks.json", tags=["keys"], security=[{}], cache_control=None)
async def jwks(ctx: NamedDependency[ApiContext]) -> dict[str, list[dict[str, Any]]]:
    """Public keys: the one that signs `private_key_jwt` assertions, and every ed25519 webhook's key
    (`kid` = the webhook id)."""
    keys = [ctx.assertion_jwk] if ctx.assertion_jwk else []
    async for doc in ctx.db[documents.WEBHOOKS].find(
        {"signature_scheme": "ed25519", "verification_key": {"$ne": None}}, {"verification_key": 1}
    ):
        keys.append(okp_jwk(str(doc["_id"]), str(doc["verification_key"])))
    return {"keys": keys}
