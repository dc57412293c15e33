"""`Idempotency-Key` on POSTs: the first response is kept sealed for 24 h and replayed byte for byte.

A key is claimed by inserting `{_id: hash(organization, caller, key)}`; the unique `_id` makes the claim atomic,
so of many concurrent requests exactly one runs and the rest see the claim (in flight: 409; done: the replay).
A request that fails with a 5xx releases its claim, so the caller can try again with the same key.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from hookline import documents
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline_api.caller import Caller
from hookline_api.errors import Conflict, IdempotencyKeyReused, ValidationFailed

HEADER: Final = b"idempotency-key"
MAX_KEY_LENGTH: Final = 255
KEEP_FOR: Final = timedelta(hours=24)
# A claim older than this whose request never finished (the process died) may be taken over.
ABANDONED_AFTER: Final = timedelta(seconds=60)
REPLAYED_HEADER: Final = (b"idempotent-replayed", b"true")


class StoredResponse(msgspec.Struct):
    status: int
    headers: list[tuple[str, str]]
    body: str  # base64


class IdempotencyStore:
    def __init__(self, db: AsyncDatabase[Document], box: SecretBox) -> None:
        self._coll = db[documents.IDEMPOTENCY]
        self._box = box

    async def claim(self, record_id: str, request_hash: str) -> StoredResponse | None:
        """None when this request now owns the key; the stored response when it should be replayed."""
        for _ in range(5):
            now = datetime.now(UTC)
            try:
                await self._coll.insert_one(
                    {
                        "_id": record_id,
                        "request_hash": request_hash,
                        "state": "in_flight",
                        "claimed_at": now,
                        "created_at": now,
                        "expires_at": now + KEEP_FOR,
                    }
                )
                return None
            except DuplicateKeyError:
                pass
            existing = await self._coll.find_one({"_id": record_id})
            if existing is None:
                continue  # released between our insert and our read: try again
            if existing["expires_at"] < now:
                await self._coll.delete_one({"_id": record_id, "expires_at": existing["expires_at"]})
                continue
            if existing["request_hash"] != request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different request; use a new key for a new request",
                    {"header": "Idempotency-Key"},
                )
            if existing["state"] == "done":
                raw = self._box.open(str(existing["response"]), context=record_id)
                return msgspec.json.decode(raw, type=StoredResponse)
            if now - existing["claimed_at"] > ABANDONED_AFTER:
                taken = await self._coll.update_one(
                    {"_id": record_id, "state": "in_flight", "claimed_at": existing["claimed_at"]},
                    {"$set": {"claimed_at": now}},
                )
                if taken.modified_count == 1:
                    return None
            raise Conflict(
                "a request with this Idempotency-Key is still in progress; retry once it has finished",
                {"header": "Idempotency-Key"},
            )
        raise Conflict("this Idempotency-Key is contended; retry", {"header": "Idempotency-Key"})

    async def complete(self, record_id: str, response: StoredResponse) -> None:
        sealed = self._box.seal(msgspec.json.encode(response).decode(), context=record_id)
        await self._coll.update_one({"_id": record_id}, {"$set": {"state": "done", "response": sealed}})

    async def release(self, record_id: str) -> None:
        await self._coll.delete_one({"_id": record_id, "state": "in_flight"})


def record_id_for(caller: Caller, key: str) -> str:
    scope = f"{caller.organization_id}\x00{caller.kind}:{caller.subject}\x00{key}"
    return hashlib.sha256(scope.encode()).hexdigest()


def request_hash_for(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method}\x00{path}\x00".encode())
    digest.update(body)
    return digest.hexdigest()


def _key_from(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            key = value.decode("latin-1")
            if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
                raise ValidationFailed.field("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
            return key
    return None


class IdempotencyMiddleware:
    """Runs inside authentication (it needs the caller) and outside the route's own exception handling."""

    def __init__(self, app: ASGIApp, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _key_from(scope)
        caller = scope.get("user")
        if key is None or not isinstance(caller, Caller):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        record_id = record_id_for(caller, key)
        stored = await self.store.claim(record_id, request_hash_for("POST", scope["path"], body))
        if stored is not None:
            await _replay(stored, send)
            return
        captured = _Capture(send)
        try:
            await self.app(scope, _replaying_receive(body), captured.send)
        except BaseException:
            await self.store.release(record_id)
            raise
        if captured.status >= 500 or captured.status == 0:
            await self.store.release(record_id)
            return
        await self.store.complete(record_id, captured.stored())


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body = message.get("body", b"")
        if isinstance(body, bytes):
            chunks.append(body)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class _Capture:
    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))
        await self._send(message)

    def stored(self) -> StoredResponse:
        return StoredResponse(self.status, self.headers, base64.b64encode(b"".join(self.body)).decode())


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored.headers]
    await send({"type": "http.response.start", "status": stored.status, "headers": [*headers, REPLAYED_HEADER]})
    await send({"type": "http.response.body", "body": base64.b64decode(stored.body), "more_body": False})
