"""`hookline listen`: a webhook receiver for trying Hookline out, printing each delivery it verified.

It plays an integrator's endpoint on this machine (as `stripe listen` or `svix listen` do for theirs): every
POST is checked with `hookline.signing.verify` when a secret is given, answered 204 when it verifies (400 when
it does not), and printed as one JSON line: the path, the `webhook-id`, whether it verified, and the body.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from hookline.signing import HEADER_ID, SignatureError, verify

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Listener:
    """Verifies and prints deliveries; `done` is set once `count` of them verified (never, when count is 0)."""

    secret: str | None = None
    scheme: str = "standard"
    count: int = 0
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    verified: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, path: str, headers: Mapping[str, str], body: bytes) -> int:
        """Checks one delivery, prints it, and returns the status code to answer."""
        error: str | None = None
        if self.secret is not None:
            try:
                verify(body, headers, self.secret, scheme=self.scheme)
            except (SignatureError, ValueError) as exc:  # ValueError: a malformed --secret
                error = str(exc)
        line: dict[str, Any] = {
            "path": path,
            "webhook_id": {k.lower(): v for k, v in headers.items()}.get(HEADER_ID),
            "verified": None if self.secret is None else error is None,
            "body": _json_or_text(body),
        }
        if error is not None:
            line["error"] = error
        with self._lock:
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()
            if error is None:
                self.verified += 1
                if self.count and self.verified >= self.count:
                    self.done.set()
        return 400 if error is not None else 204


def serve(listener: Listener, host: str, port: int) -> None:
    """Answers deliveries on host:port until `listener.done` is set (or forever when no count was given)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413)
                return
            body = self.rfile.read(length)
            self._answer(listener.receive(self.path, dict(self.headers.items()), body))

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the JSON lines are the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="listener", daemon=True)
    thread.start()
    try:
        listener.done.wait()
    finally:
        server.shutdown()
        server.server_close()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
