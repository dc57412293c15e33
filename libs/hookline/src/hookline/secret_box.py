"""AES-256-GCM encryption of secrets at rest, tagged with the id of the master key that sealed them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A sealed value cannot be opened: unknown key id, tampered data, or a bad master key."""


def decode_master_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SecretBoxError("the master key is not valid base64") from None
    if len(key) != 32:
        raise SecretBoxError("the master key must be base64 of exactly 32 bytes")
    return key


def generate_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def key_id(key: bytes) -> str:
    """A short, non-secret fingerprint that says which master key sealed a value."""
    return hashlib.sha256(b"hookline-master-key-id:" + key).hexdigest()[:12]


class SecretBox:
    """Seals with the current master key; opens with it or any retired one (for master-key rotation)."""

    def __init__(self, current: str, retired: Iterable[str] = ()) -> None:
        current_key = decode_master_key(current)
        self._current_id = key_id(current_key)
        self._keys = {self._current_id: AESGCM(current_key)}
        for text in retired:
            raw = decode_master_key(text)
            self._keys.setdefault(key_id(raw), AESGCM(raw))

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def seal(self, plaintext: str, *, context: str = "") -> str:
        """`v1:<key id>:<base64 nonce+ciphertext>`; `context` (say, the webhook id) binds it to its owner."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{FORMAT_VERSION}:{self._current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, context: str = "") -> str:
        try:
            version, kid, payload = token.split(":", 2)
        except ValueError:
            raise SecretBoxError("not a sealed value") from None
        if version != FORMAT_VERSION:
            raise SecretBoxError(f"unknown sealed format {version!r}")
        aead = self._keys.get(kid)
        if aead is None:
            raise SecretBoxError(f"no master key with id {kid}")
        try:
            blob = base64.b64decode(payload, validate=True)
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise SecretBoxError("the sealed value is corrupt or bound to another owner") from None

    def needs_reseal(self, token: str) -> bool:
        """True when a value was sealed by a retired key and should be sealed again with the current one."""
        return token.split(":", 2)[1:2] != [self._current_id]
