"""Authentication: API keys (`Bearer`/`AccessKey hl_live_…`) and JWTs verified against `HOOKLINE_JWKS_URL`."""

from __future__ import annotations

import time
from typing import Any, Final

import jwt
from jwt.types import Options
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, documents
from hookline.mongo import Document
from hookline.settings import Settings
from hookline_api.caller import ROLES, Caller
from hookline_api.errors import Unauthorized
from hookline_api.jwks_client import JwksCache, JwksUnavailable

ALGORITHMS: Final = ["RS256", "ES256"]
LEEWAY_SECONDS: Final = 30
# A key looked up recently is trusted for this long; a revocation takes effect within it.
KEY_CACHE_SECONDS: Final = 5.0


class Authenticator:
    def __init__(self, db: AsyncDatabase[Document], settings: Settings, jwks: JwksCache | None) -> None:
        self._db = db
        self._settings = settings
        self._jwks = jwks
        self._key_cache: dict[str, tuple[float, Caller]] = {}

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise Unauthorized(
                "missing Authorization header: send `Bearer <api key or token>` or `AccessKey <api key>`"
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        scheme = scheme.lower()
        if scheme not in ("bearer", "accesskey") or not credential:
            raise Unauthorized("the Authorization header must be `Bearer <credential>` or `AccessKey <api key>`")
        if credential.startswith(api_keys.KEY_PREFIX):
            return await self._api_key(credential)
        if scheme == "bearer" and credential.count(".") == 2:
            return await self._token(credential)
        raise Unauthorized("the credential is neither an API key nor a JWT")

    async def _api_key(self, key: str) -> Caller:
        if not api_keys.looks_like_api_key(key):
            raise Unauthorized("invalid API key")
        digest = api_keys.hash_api_key(key)
        cached = self._key_cache.get(digest)
        if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        doc = await self._db[documents.API_KEYS].find_one({"hash": digest})
        if doc is None or doc.get("revoked_at") is not None or not api_keys.matches(key, str(doc["hash"])):
            raise Unauthorized("invalid API key")
        caller = Caller(
            organization_id=str(doc["organization_id"]),
            kind="api_key",
            subject=str(doc["_id"]),
            scopes=frozenset(str(s) for s in doc.get("scopes", [])),
        )
        if len(self._key_cache) > 10_000:
            self._key_cache.clear()
        self._key_cache[digest] = (time.monotonic(), caller)
        return caller

    async def _token(self, token: str) -> Caller:
        if self._jwks is None:
            raise Unauthorized("tokens are not accepted here: no JWKS is configured (HOOKLINE_JWKS_URL)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the token is not a well-formed JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"the token's algorithm must be one of {', '.join(ALGORITHMS)}")
        try:
            key = await self._jwks.key_for(header.get("kid"))
        except JwksUnavailable:
            raise Unauthorized(
                "the token cannot be verified right now: the identity provider's keys are unavailable"
            ) from None
        if key is None:
            raise Unauthorized("the token is signed by an unknown key")
        claims = self._verified_claims(token, key)
        return _caller_from_claims(claims)

    def _verified_claims(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        options: Options = {"require": ["exp"], "verify_aud": self._settings.jwt_audience is not None}
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=LEEWAY_SECONDS,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("the token is not meant for this API (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("the token comes from an unexpected issuer (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"the token lacks the claim {exc.claim!r}") from None
        except jwt.PyJWTError:
            raise Unauthorized("the token's signature does not verify") from None
        return claims


def _caller_from_claims(claims: dict[str, Any]) -> Caller:
    org = claims.get("org")
    if not isinstance(org, str) or not org:
        raise Unauthorized("the token lacks the claim 'org'")
    scope = claims.get("scope", "")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    role = claims.get("role")
    client_id = claims.get("client_id")
    if role is None and isinstance(client_id, str) and client_id:
        return Caller(organization_id=org, kind="client", subject=client_id, scopes=scopes)
    if role not in ROLES:
        raise Unauthorized("the token's claim 'role' must be OWNER, ADMIN or MEMBER (or carry client_id for a client)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("the token lacks the claim 'sub'")
    return Caller(organization_id=org, kind="person", subject=sub, scopes=scopes, role=str(role))


class AuthMiddleware:
    """Sets `scope["user"]` to the Caller, or answers 401 through the app's exception handlers."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            scope["user"] = await self.authenticator.authenticate(authorization)
        await self.app(scope, receive, send)
