"""An httpx transport whose connections go to the address the SSRF check approved, not to a fresh DNS answer.

The request URL keeps the host name, so the `Host` header, TLS SNI and certificate check all use the name; only
the TCP connect is redirected. The approved addresses travel in a context variable set by the sending task
(httpcore connects inside the task that sends the request), so concurrent deliveries never see each other's.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx


@dataclass(frozen=True)
class Pin:
    host: str
    port: int
    addresses: tuple[str, ...]


_PIN: ContextVar[Pin | None] = ContextVar("hookline_dispatcher_pin", default=None)


@contextlib.contextmanager
def pinned(host: str, port: int, addresses: Iterable[str]) -> Iterator[None]:
    """Within this block, a new connection to `host:port` goes to one of `addresses`."""
    token = _PIN.set(Pin(host.lower(), port, tuple(addresses)))
    try:
        yield
    finally:
        _PIN.reset(token)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the pinned addresses; without a pin it refuses, unless unpinned connections are allowed."""

    def __init__(self, *, allow_unpinned: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_unpinned = allow_unpinned

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _PIN.get()
        if pin is None or pin.host != host.lower().strip("[]") or pin.port != port:
            if self._allow_unpinned:
                return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            raise httpcore.ConnectError(f"no checked address for {host}:{port}")
        last: Exception = httpcore.ConnectError("no address to connect to")
        for address in pin.addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not delivery targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


POOL_KEY_EXTENSION = "hookline_pool_key"


class _PinnedPool(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` with its connection pool built on `PinnedBackend` (HTTP/1.1, no proxies)."""

    def __init__(
        self, *, max_connections: int, keepalive_expiry: float, allow_unpinned: bool, ssl_context: ssl.SSLContext
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=PinnedBackend(allow_unpinned=allow_unpinned),
        )


class PinnedTransport(httpx.AsyncBaseTransport):
    """Pinned connections in one small pool per (pool key, origin).

    httpcore's pool checks every pooled connection on every request, so one big pool costs O(connections) per
    request; small pools keyed by webhook (the request extension `hookline_pool_key`) keep that constant and
    keep one webhook's connections apart from another's.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float = 30.0,
        allow_unpinned: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._allow_unpinned = allow_unpinned
        self._ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._pools: dict[tuple[str, str, str, int | None], _PinnedPool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (
            str(request.extensions.get(POOL_KEY_EXTENSION, "")),
            request.url.scheme,
            request.url.host,
            request.url.port,
        )
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _PinnedPool(
                max_connections=self._max_connections,
                keepalive_expiry=self._keepalive_expiry,
                allow_unpinned=self._allow_unpinned,
                ssl_context=self._ssl_context,
            )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
