"""The dispatcher's HTTP/1.1 client against scripted loopback servers: framing, keep-alive, limits, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from hookline_dispatcher.sender import Sender, SendError

Script = Callable[[bytes], list[bytes | None]]


@dataclass
class ScriptedServer:
    """Answers each request with the chunks `script(request)` returns; `None` closes the connection."""

    script: Script
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                for chunk in self.script(head + body):
                    if chunk is None:
                        writer.close()
                        return
                    writer.write(chunk)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], asyncio.Future[ScriptedServer]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> ScriptedServer:
        scripted = ScriptedServer(script)
        server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        scripted.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return scripted

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def ok(body: bytes = b"ok", extra: bytes = b"") -> Script:
    return lambda _: [b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)]


async def post(sender: Sender, url: str, **kwargs: object) -> tuple[int, dict[str, str], bytes]:
    response = await sender.post(url, content=b'{"a":1}', headers={"Content-Type": "application/json"}, **kwargs)  # type: ignore[arg-type]
    return response.status_code, dict(response.headers), response.body


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    sender = Sender(timeout_seconds=2, allow_private_targets=True)
    yield sender
    await sender.aclose()


async def test_keep_alive_connections_are_reused(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    server = await serve(ok(extra=b"Retry-After: 7\r\n"))
    for _ in range(5):
        assert await post(sender, server.url) == (200, {"content-length": "2", "retry-after": "7"}, b"ok")
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in first
    assert b"\r\nUser-Agent: Hookline/0.1\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


async def test_chunked_answers_and_read_limit(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    chunked = [
        b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n",
        b"5\r\nhello\r\n",
        b"6\r\n world\r\n0\r\n\r\n",
    ]
    server = await serve(lambda _: list(chunked))
    assert await post(sender, server.url) == (500, {"transfer-encoding": "chunked"}, b"hello world")
    assert await post(sender, server.url, read_limit=4) == (500, {"transfer-encoding": "chunked"}, b"hell")
    # Cut short: that connection is not reused.
    await post(sender, server.url)
    assert server.connections == 2


async def test_a_body_until_close_and_connection_close(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    server = await serve(lambda _: [b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it", None])
    assert (await post(sender, server.url))[2] == b"all of it"
    assert (await post(sender, server.url))[2] == b"all of it"
    assert server.connections == 2


async def test_a_stale_kept_alive_connection_is_replaced(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    answers = iter([[*ok()(b""), None], ok()(b""), ok()(b"")])
    server = await serve(lambda _: next(answers))
    await post(sender, server.url)
    await asyncio.sleep(0.05)  # the server closed the kept-alive connection after answering
    assert (await post(sender, server.url))[0] == 200
    assert server.connections == 2


async def test_interim_answers_are_skipped(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    server = await serve(lambda _: [b"HTTP/1.1 100 Continue\r\n\r\n", *ok(b"done")(b"")])
    assert (await post(sender, server.url))[::2] == (200, b"done")


async def test_failures_are_send_errors(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    silent = await serve(lambda _: [None])
    with pytest.raises(SendError) as closed:
        await post(sender, silent.url)
    assert closed.value.kind == "connect"
    garbage = await serve(lambda _: [b"SMTP ready\r\n\r\n"])
    with pytest.raises(SendError) as malformed:
        await post(sender, garbage.url)
    assert malformed.value.kind == "connect"
    slow = await serve(lambda _: [])
    quick = Sender(timeout_seconds=0.2, allow_private_targets=True)
    try:
        with pytest.raises(SendError) as timed_out:
            await post(quick, slow.url)
        assert timed_out.value.kind == "timeout"
    finally:
        await quick.aclose()
    with pytest.raises(SendError) as refused:
        await post(sender, "http://127.0.0.1:9/hook")
    assert refused.value.kind == "connect"


async def test_header_injection_is_refused(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    server = await serve(ok())
    with pytest.raises(SendError):
        await sender.post(server.url, content=b"", headers={"X-A": "1\r\nX-B: 2"})
    assert server.requests == []


async def test_custom_headers_replace_ours_but_never_the_framing(serve: Callable, sender: Sender) -> None:  # type: ignore[type-arg]
    server = await serve(ok())
    await sender.post(server.url, content=b"{}", headers={"user-agent": "acme", "Content-Length": "99"})
    [request] = server.requests
    assert b"Hookline" not in request
    assert b"user-agent: acme\r\n" in request
    head = request.split(b"\r\n\r\n", 1)[0].lower()
    assert head.count(b"content-length:") == 1 and b"content-length: 2\r\n" in head + b"\r\n"
