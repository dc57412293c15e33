"""Hookline's own signing key for OIDC `private_key_jwt` client assertions (RFC 7523).

One RSA key per installation, made on first use and kept sealed in MongoDB; its public half is served at
`/.well-known/jwks.json` by the API, and the dispatcher signs assertions with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from hookline.mongo import Document
from hookline.secret_box import SecretBox

COLLECTION: Final = "hookline_keys"
KEY_ID: Final = "oidc-assertion"
ALGORITHM: Final = "RS256"


class AssertionKey(msgspec.Struct, frozen=True):
    kid: str
    private_pem: str

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg=ALGORITHM)
        return jwk


def _generate() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, "hl-" + hashlib.sha256(public_der).hexdigest()[:16]


async def load_or_create(db: AsyncDatabase[Document], box: SecretBox) -> AssertionKey:
    """The installation's key; the first caller creates it, racing callers all end up with that one."""
    doc = await db[COLLECTION].find_one({"_id": KEY_ID})
    if doc is None:
        pem, kid = _generate()
        # A racing first caller may have inserted it already; then theirs is the key.
        with contextlib.suppress(DuplicateKeyError):
            await db[COLLECTION].insert_one(
                {
                    "_id": KEY_ID,
                    "kid": kid,
                    "private_pem": box.seal(pem, context=KEY_ID),
                    "created_at": datetime.now(UTC),
                }
            )
        doc = await db[COLLECTION].find_one({"_id": KEY_ID})
        assert doc is not None
    return AssertionKey(kid=str(doc["kid"]), private_pem=box.open(str(doc["private_pem"]), context=KEY_ID))
