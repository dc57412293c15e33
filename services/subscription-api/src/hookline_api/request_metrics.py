"""Request metrics of the API: `hookline_api_requests_total` and `hookline_api_request_duration_seconds`.

Litestar's own Prometheus middleware counts a request whose error is raised by a middleware (authentication
refusing a key, an idempotency conflict) as a 200, because the app-wide exception handler answers outside it.
This one takes the status from the exception in that case, so a 401 is counted as a 401.
"""

from __future__ import annotations

import time
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

EXCLUDED: Final = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS: Final = Counter(
    "hookline_api_requests", "API requests by method, route template and status", ["method", "route", "status"]
)
DURATION: Final = Histogram(
    "hookline_api_request_duration_seconds",
    "API request durations by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in EXCLUDED:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        except Exception as exc:
            status = int(getattr(exc, "status_code", 500))
            raise
        finally:
            # The route's template, never the raw path: ids in paths would make a series each.
            route = str(scope.get("path_template") or "unmatched")
            REQUESTS.labels(method, route, str(status)).inc()
            DURATION.labels(method, route).observe(time.perf_counter() - started)
