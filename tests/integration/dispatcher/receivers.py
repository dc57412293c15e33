"""Real HTTP receivers on loopback for delivery tests: one uvicorn server, one route per receiver."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Behaviour = Callable[["Route", Received], Awaitable[Reply]]


async def answer_ok(route: Route, request: Received) -> Reply:
    return 200, {}, b"ok"


@dataclass
class Route:
    name: str
    url: str
    behaviour: Behaviour
    received: list[Received] = field(default_factory=list)

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {len(self.received)} of {count} requests arrived")
            await asyncio.sleep(0.02)
        return self.received


class ReceiverHub:
    """An ASGI app routing `/r/<name>` to a registered route's behaviour; records every request."""

    def __init__(self, scheme: str = "http") -> None:
        self.routes: dict[str, Route] = {}
        self.port = 0
        self.scheme = scheme

    def add(self, behaviour: Behaviour = answer_ok, *, host: str = "127.0.0.1") -> Route:
        name = secrets.token_hex(6)
        route = Route(name, f"{self.scheme}://{host}:{self.port}/r/{name}", behaviour)
        self.routes[name] = route
        return route

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Received(path, headers, b"".join(chunks), time.monotonic())
        route = self.routes.get(path.removeprefix("/r/"))
        if route is None:
            status, reply_headers, body = 404, dict[str, str](), b"no such receiver"
        else:
            route.received.append(request)
            status, reply_headers, body = await route.behaviour(route, request)
        raw_headers = [(k.encode(), v.encode()) for k, v in reply_headers.items()]
        raw_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


class RunningHub:
    def __init__(self, hub: ReceiverHub, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        self.hub, self._server, self._task = hub, server, task

    async def close(self) -> None:
        self._server.should_exit = True
        await self._task


async def start_hub(*, certfile: str | None = None, keyfile: str | None = None) -> RunningHub:
    """A receiver hub on a free loopback port; HTTPS with the given certificate and key when `certfile` is set."""
    hub = ReceiverHub("https" if certfile else "http")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    hub.port = sock.getsockname()[1]
    config = uvicorn.Config(
        hub,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    config.load()
    server = uvicorn.Server(config)
    # `_serve` is `serve` without installing signal handlers, which belong to pytest here.
    task = asyncio.create_task(server._serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return RunningHub(hub, server, task)
