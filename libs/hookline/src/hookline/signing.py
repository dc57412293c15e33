"""Signing and verification of deliveries for every signature scheme Hookline offers (DESIGN.md §6)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCHEMES: Final[tuple[str, ...]] = ("standard", "ed25519", "hmac-sha256-hex", "hmac-sha512-hex")
HEX_SCHEMES: Final[tuple[str, ...]] = ("hmac-sha256-hex", "hmac-sha512-hex")

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a public prefix, not a secret
PRIVATE_KEY_PREFIX: Final = "whsk_"
PUBLIC_KEY_PREFIX: Final = "whpk_"

MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64
GENERATED_SECRET_BYTES: Final = 32
DEFAULT_TOLERANCE_SECONDS: Final = 300

HEADER_ID: Final = "webhook-id"
HEADER_TIMESTAMP: Final = "webhook-timestamp"
HEADER_SIGNATURE: Final = "webhook-signature"
HEADER_REQUEST_ID: Final = "X-Webhook-Request-Id"
HEADER_TIMESTAMP_MS: Final = "X-Webhook-Timestamp"
HEADER_HEX_SHA256: Final = "X-Webhook-Signature"
HEADER_HEX_SHA512: Final = "X-Webhook-Hmac"
HEADER_HEX_ALGORITHM: Final = "X-Webhook-Hmac-Algorithm"

_ED25519_KEY_BYTES: Final = 32
_ED25519_SIGNATURE_BYTES: Final = 64


class SignatureError(Exception):
    """A delivery does not verify: a header is missing or malformed, the timestamp is stale, or no signature matches."""


def sign(
    body: bytes,
    secret: str,
    *,
    msg_id: str,
    timestamp: int,
    scheme: str = "standard",
    extra_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """The signature headers of one delivery.

    `secret` is the current signing secret: `whsec_…` for `standard` and the two hex schemes, the private key
    `whsk_…` for `ed25519`. `extra_secrets` are older secrets still live during a rotation; each adds a signature
    after the current one, so receivers holding either secret accept the delivery.

    Every scheme carries the Standard Webhooks headers. For the hex schemes the `v1` HMAC in `webhook-signature`
    is keyed, like their hex HMAC, with the UTF-8 bytes of the secret string exactly as given (not its decoded
    base64): a hex-scheme receiver holds one secret string, and one key for both signatures means it can check
    either without knowing about Standard Webhooks' key encoding.
    """
    _check_scheme(scheme)
    live = _unique((secret, *extra_secrets))
    content = _signed_content(msg_id, timestamp, body)
    if scheme == "ed25519":
        signatures = [f"v1a,{_b64(_load_private_key(s).sign(content))}" for s in live]
    else:
        key_of = _standard_key if scheme == "standard" else _utf8_key
        signatures = [f"v1,{_b64(hmac.new(key_of(s), content, hashlib.sha256).digest())}" for s in live]
    headers = {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(signatures),
        HEADER_REQUEST_ID: msg_id,
        HEADER_TIMESTAMP_MS: str(timestamp * 1000),
    }
    if scheme == "hmac-sha256-hex":
        headers[HEADER_HEX_SHA256] = " ".join(_hex_hmac(_utf8_key(s), body, "sha256") for s in live)
    elif scheme == "hmac-sha512-hex":
        headers[HEADER_HEX_SHA512] = " ".join(_hex_hmac(_utf8_key(s), body, "sha512") for s in live)
        headers[HEADER_HEX_ALGORITHM] = "sha512"
    return headers


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    scheme: str = "standard",
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received delivery; raise `SignatureError` unless it is authentic and fresh.

    `secret` is the receiver's copy: `whsec_…` for `standard` and the hex schemes, the public key `whpk_…` for
    `ed25519`. Header names are matched case-insensitively and any one of several space-separated signatures
    may match. For the hex schemes, whose hex HMAC covers only the body, the timestamp comes from
    `webhook-timestamp` (or `X-Webhook-Timestamp` in milliseconds); when `webhook-signature` is present it must
    match too, because it is what binds that timestamp to the body. A malformed `secret` raises `ValueError`:
    that is the receiver's configuration, not the sender's fault.
    """
    _check_scheme(scheme)
    lowered = {name.lower(): value for name, value in headers.items()}
    if scheme in HEX_SCHEMES:
        _verify_hex(body, lowered, secret, scheme=scheme, tolerance_seconds=tolerance_seconds, now=now)
        return
    msg_id = _required(lowered, HEADER_ID)
    timestamp = _parse_timestamp(_required(lowered, HEADER_TIMESTAMP))
    signature = _required(lowered, HEADER_SIGNATURE)
    _check_freshness(timestamp, tolerance_seconds, now)
    content = _signed_content(msg_id, timestamp, body)
    if scheme == "ed25519":
        _verify_ed25519(content, signature, _load_public_key(secret))
    else:
        _verify_v1(content, signature, _standard_key(secret))


def generate_secret(scheme: str) -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes, or a `whsk_` private key for `ed25519`."""
    _check_scheme(scheme)
    if scheme == "ed25519":
        return generate_ed25519_keypair()[0]
    return SECRET_PREFIX + _b64(secrets.token_bytes(GENERATED_SECRET_BYTES))


def generate_ed25519_keypair() -> tuple[str, str]:
    """A fresh (`whsk_…` private key as base64 of private + public bytes, `whpk_…` public key) pair."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = _public_bytes(key)
    return PRIVATE_KEY_PREFIX + _b64(private + public), PUBLIC_KEY_PREFIX + _b64(public)


def validate_secret(secret: str) -> None:
    """Raise `ValueError` unless `secret` is `whsec_` + valid base64 of 24 to 64 bytes (a caller-chosen secret)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a signing secret must start with {SECRET_PREFIX!r}")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"a signing secret must be {SECRET_PREFIX!r} followed by valid base64") from None
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise ValueError(f"a signing secret must decode to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")


def public_key_for(private: str) -> str:
    """The `whpk_…` public key receivers verify with, for a `whsk_…` private key."""
    return PUBLIC_KEY_PREFIX + _b64(_public_bytes(_load_private_key(private)))


def _verify_hex(
    body: bytes,
    lowered: Mapping[str, str],
    secret: str,
    *,
    scheme: str,
    tolerance_seconds: int,
    now: float | None,
) -> None:
    if scheme == "hmac-sha256-hex":
        hex_values = _required(lowered, HEADER_HEX_SHA256.lower())
        digest = "sha256"
    else:
        hex_values = _required(lowered, HEADER_HEX_SHA512.lower())
        algorithm = lowered.get(HEADER_HEX_ALGORITHM.lower())
        if algorithm is not None and algorithm.strip().lower() != "sha512":
            raise SignatureError(f"unexpected {HEADER_HEX_ALGORITHM}")
        digest = "sha512"
    if HEADER_TIMESTAMP in lowered:
        timestamp = _parse_timestamp(lowered[HEADER_TIMESTAMP])
    elif HEADER_TIMESTAMP_MS.lower() in lowered:
        timestamp = _parse_timestamp(lowered[HEADER_TIMESTAMP_MS.lower()]) // 1000
    else:
        raise SignatureError(f"missing header {HEADER_TIMESTAMP}")
    _check_freshness(timestamp, tolerance_seconds, now)
    key = _utf8_key(secret)
    expected = _hex_hmac(key, body, digest).encode()
    if not _any_equal(expected, (value.lower().encode() for value in hex_values.split())):
        raise SignatureError("no matching signature")
    if HEADER_SIGNATURE in lowered:
        msg_id = _required(lowered, HEADER_ID)
        _verify_v1(_signed_content(msg_id, timestamp, body), lowered[HEADER_SIGNATURE], key)


def _verify_v1(content: bytes, signature_header: str, key: bytes) -> None:
    expected = hmac.new(key, content, hashlib.sha256).digest()
    if not _any_equal(expected, _signatures_of_version(signature_header, "v1")):
        raise SignatureError("no matching signature")


def _verify_ed25519(content: bytes, signature_header: str, public_key: Ed25519PublicKey) -> None:
    for candidate in _signatures_of_version(signature_header, "v1a"):
        if len(candidate) != _ED25519_SIGNATURE_BYTES:
            continue
        try:
            public_key.verify(candidate, content)
        except InvalidSignature:
            continue
        return
    raise SignatureError("no matching signature")


def _signatures_of_version(header: str, version: str) -> list[bytes]:
    # Unknown versions and undecodable entries are skipped, not fatal: senders may add schemes we do not know.
    found: list[bytes] = []
    for token in header.split():
        token_version, _, value = token.partition(",")
        if token_version != version:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _any_equal(expected: bytes, candidates: Iterable[bytes]) -> bool:
    # Compare against every candidate rather than stopping early, so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _required(lowered: Mapping[str, str], name: str) -> str:
    value = lowered.get(name)
    if value is None or not value.strip():
        raise SignatureError(f"missing header {name}")
    return value.strip()


def _parse_timestamp(text: str) -> int:
    text = text.strip()
    # isdecimal() alone admits non-ASCII digits and int() admits signs and underscores; a timestamp is plain digits.
    if not (text.isascii() and text.isdecimal()):
        raise SignatureError("malformed timestamp header")
    return int(text)


def _check_freshness(timestamp: int, tolerance_seconds: int, now: float | None) -> None:
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise SignatureError("timestamp too old")
    if timestamp > current + tolerance_seconds:
        raise SignatureError("timestamp too new")


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    # Bytes, not a decoded str: the body is signed exactly as sent, whatever its encoding.
    return f"{msg_id}.{timestamp}.".encode() + body


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    key = _b64decode(encoded, what="signing secret")
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def _utf8_key(secret: str) -> bytes:
    if not secret:
        raise ValueError("the signing secret is empty")
    return secret.encode()


def _load_private_key(private: str) -> Ed25519PrivateKey:
    raw = _b64decode(private.removeprefix(PRIVATE_KEY_PREFIX), what="Ed25519 private key")
    if len(raw) == 2 * _ED25519_KEY_BYTES:
        key = Ed25519PrivateKey.from_private_bytes(raw[:_ED25519_KEY_BYTES])
        # A mismatched public half would make us sign with a key receivers were never given.
        if not hmac.compare_digest(_public_bytes(key), raw[_ED25519_KEY_BYTES:]):
            raise ValueError("the Ed25519 private key's public half does not match its seed")
        return key
    if len(raw) == _ED25519_KEY_BYTES:
        return Ed25519PrivateKey.from_private_bytes(raw)
    raise ValueError("an Ed25519 private key must be base64 of a 32-byte seed or 64 bytes (seed + public key)")


def _load_public_key(public: str) -> Ed25519PublicKey:
    raw = _b64decode(public.removeprefix(PUBLIC_KEY_PREFIX), what="Ed25519 public key")
    if len(raw) != _ED25519_KEY_BYTES:
        raise ValueError("an Ed25519 public key must be base64 of 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _hex_hmac(key: bytes, body: bytes, digest: str) -> str:
    return hmac.new(key, body, digest).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # The message names the kind of value, never the value: it may be a secret.
        raise ValueError(f"the {what} is not valid base64") from None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown signature scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
