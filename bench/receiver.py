"""A fast webhook receiver for benchmarks: raw asyncio HTTP/1.1 with keep-alive, in its own process.

It answers every POST with 200 at once, and for bodies carrying `data.t0` (the producer's clock) records
the end-to-end latency. `GET /stats` answers counts and latency quantiles; `POST /reset` clears them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import cast

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.count = 0
        self.latencies: list[float] = []
        self.first = 0.0
        self.last = 0.0

    def record(self, body: bytes) -> None:
        now = time.time()
        self.count += 1
        self.first = self.first or now
        self.last = now
        marker = body.find(b'"t0":')
        if marker >= 0:
            end = body.find(b"}", marker)
            comma = body.find(b",", marker)
            stop = min(x for x in (end, comma) if x > 0)
            with contextlib.suppress(ValueError):
                self.latencies.append(now - float(body[marker + 5 : stop]))

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies)

        def q(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

        return {
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "latency_samples": len(ordered),
            "p50_ms": q(0.50),
            "p99_ms": q(0.99),
            "max_ms": ordered[-1] * 1000 if ordered else 0.0,
        }


class HttpServer(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            body = self.buffer[head_end + 4 : total]
            self.buffer = self.buffer[total:]
            self.respond(head.split(" ", 2), body)

    def respond(self, request_line: list[str], body: bytes) -> None:
        assert self.transport is not None
        method, path = request_line[0], request_line[1]
        if method == "GET" and path == "/stats":
            payload = json.dumps(self.stats.summary()).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(payload), payload))
            return
        if method == "POST" and path == "/reset":
            self.stats.__init__()  # type: ignore[misc]
        else:
            self.stats.record(body)
        self.transport.write(OK)


async def serve(port: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpServer(stats), "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
