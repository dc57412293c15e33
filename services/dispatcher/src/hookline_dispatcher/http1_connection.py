"""One keep-alive HTTP/1.1 client connection on an asyncio protocol, with httptools (llhttp) parsing responses.

A delivery is one small POST and one small answer; httpx/httpcore spent ~70 % of the dispatcher's CPU on
it (anyio streams, per-request pool scans, header models). This is the part of HTTP/1.1 a delivery needs:
write the request in one `write`, parse the response in C, and keep the connection for the next request
unless either side said `close` or the answer was cut short.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast

import httptools


class ProtocolError(Exception):
    """The server's bytes were not a well-formed HTTP/1.1 response, or it closed the connection mid-way."""


class ConnectionClosed(ProtocolError):
    """The connection ended before any byte of a response came back (a kept-alive connection may be stale)."""


class Response:
    __slots__ = ("body", "complete", "headers", "status_code")

    def __init__(self) -> None:
        self.status_code = 0
        # Lowercase names; a repeated header keeps its last value.
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.complete = False


class Http1Connection(asyncio.Protocol):
    """One request at a time; `reusable` says whether it may carry another one."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self.idle_since = time.monotonic()
        self._parser: httptools.HttpResponseParser | None = None
        self._response: Response | None = None
        self._done: asyncio.Future[Response] | None = None
        self._read_limit = 0
        self._header_name = ""
        self._received_any = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.reusable = True

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        if self._parser is None or self._done is None or self._done.done():
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self._close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ProtocolError(f"malformed response: {exc}"))

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._done is None or self._done.done():
            return
        if self._response is not None and self._response.status_code:
            # The answer's status came: a body without length or chunking runs until the connection closes,
            # and a body cut short still carries that status.
            self._finish()
            return
        if not self._received_any:
            self._fail(ConnectionClosed("the server closed the connection without answering"))
        else:
            self._fail(ProtocolError("the server closed the connection in the middle of its answer"))

    # httptools callbacks

    def on_status(self, status: bytes) -> None:
        assert self._response is not None and self._parser is not None
        self._response.status_code = self._parser.get_status_code()

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._response is not None
        self._header_name = name.decode("latin-1").lower()
        self._response.headers[self._header_name] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self._response is not None and self._parser is not None
        self._response.status_code = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        response = self._response
        assert response is not None
        room = self._read_limit - len(response.body)
        if room > 0:
            response.body += body[:room]
        elif body:
            # More than we keep: stop reading; the rest of the body is abandoned with the connection.
            self.reusable = False
            self._finish()

    def on_message_complete(self) -> None:
        response = self._response
        assert response is not None and self._parser is not None
        if 100 <= response.status_code < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows on the same parser.
            self._response = Response()
            return
        if not self._parser.should_keep_alive():
            self.reusable = False
        response.complete = True
        self._finish()

    # requests

    async def request(self, head: bytes, body: bytes, read_limit: int) -> Response:
        """Writes one request and returns its response; the connection may be reused if `reusable`."""
        if self.transport is None or self.transport.is_closing() or not self.reusable:
            raise ConnectionClosed("the connection is closed")
        self._read_limit = read_limit
        self._received_any = False
        self._done = asyncio.get_running_loop().create_future()
        self._start_response()
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        try:
            return await self._done
        except asyncio.CancelledError:
            # A timeout mid-request: the answer may still arrive later, so this connection is done.
            self._close()
            raise
        finally:
            self._done = None
            self._parser = None
            self.idle_since = time.monotonic()

    def close(self) -> None:
        self._close()

    def _start_response(self) -> None:
        self._response = Response()
        self._parser = httptools.HttpResponseParser(self)

    def _finish(self) -> None:
        if self._done is not None and not self._done.done() and self._response is not None:
            if not self._response.complete:
                self.reusable = False
            self._done.set_result(self._response)
            if not self.reusable:
                self._close()

    def _fail(self, error: Exception) -> None:
        self.reusable = False
        if self._done is not None and not self._done.done():
            self._done.set_exception(error)
        self._close()

    def _close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
