"""Keep-alive HTTP/1.1 connections pooled per (pool key, origin), opened only to addresses the caller checked.

Each webhook has its own small pool (the pool key is the webhook id), so one webhook's connections are never
lent to another and taking a connection costs O(1): closed ones are noticed by their protocol at once
(`connection_lost`), not by polling every pooled socket on every request as httpcore does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from hookline_dispatcher.http1_connection import ConnectionClosed, Http1Connection, Response

Origin = tuple[str, str, str, int]  # pool key, scheme, host, port


@dataclass
class _Pool:
    slots: asyncio.Semaphore
    idle: deque[Http1Connection] = field(default_factory=deque)


class ConnectionPools:
    def __init__(self, *, max_connections: int, ssl_context: ssl.SSLContext, keepalive_expiry: float = 30.0) -> None:
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._pools: dict[Origin, _Pool] = {}

    async def request(
        self,
        origin: Origin,
        addresses: Sequence[str],
        head: bytes,
        body: bytes,
        read_limit: int,
    ) -> Response:
        """Sends one request over a pooled connection (or a new one to the first of `addresses` that answers).

        A kept-alive connection the server closed just before our request is replaced once by a fresh one;
        an error on a fresh connection is the caller's.
        """
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool(asyncio.Semaphore(self._max_connections))
        async with pool.slots:
            connection = self._idle_connection(pool)
            if connection is not None:
                try:
                    return await self._use(pool, connection, head, body, read_limit)
                except ConnectionClosed:
                    pass
            connection = await self._connect(origin, addresses)
            return await self._use(pool, connection, head, body, read_limit)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            while pool.idle:
                pool.idle.pop().close()

    def _idle_connection(self, pool: _Pool) -> Http1Connection | None:
        expired_before = time.monotonic() - self._keepalive_expiry
        while pool.idle:
            connection = pool.idle.pop()  # the most recently used: the least likely to have been closed
            if connection.reusable and connection.idle_since > expired_before:
                return connection
            connection.close()
        return None

    async def _use(
        self, pool: _Pool, connection: Http1Connection, head: bytes, body: bytes, read_limit: int
    ) -> Response:
        response = await connection.request(head, body, read_limit)
        if connection.reusable:
            pool.idle.append(connection)
        return response

    async def _connect(self, origin: Origin, addresses: Sequence[str]) -> Http1Connection:
        _key, scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._ssl_context if scheme == "https" else None
        last: Exception = OSError(f"no address to connect to for {host}:{port}")
        for address in addresses:
            try:
                _transport, connection = await loop.create_connection(
                    Http1Connection, address, port, ssl=tls, server_hostname=host if tls else None
                )
                return connection
            except ssl.SSLError:
                raise
            except OSError as exc:
                last = exc
        raise last
