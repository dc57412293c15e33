"""`/healthz`, `/readyz` and `/metrics` for every service, as Litestar route handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pymongo.asynchronous.database import AsyncDatabase

from hookline import mongo
from hookline.kafka import kafka_reachable
from hookline.mongo import Document

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_handlers(
    checks: Mapping[str, ReadinessCheck],
    *,
    registry: CollectorRegistry = REGISTRY,
    timeout: float = 2.0,
) -> list[HTTPRouteHandler]:
    """Liveness answers while the process serves; readiness runs every check (each bounded by `timeout`)."""

    @get("/healthz", media_type=MediaType.JSON, include_in_schema=False, sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", media_type=MediaType.JSON, include_in_schema=False)
    async def readyz() -> Response[dict[str, object]]:
        async def run(check: ReadinessCheck) -> bool:
            try:
                return await asyncio.wait_for(check(), timeout)
            except Exception:
                return False

        names = list(checks)
        results = await asyncio.gather(*(run(checks[n]) for n in names))
        status = dict(zip(names, results, strict=True))
        ready = all(results)
        return Response(
            {"status": "ready" if ready else "not_ready", "checks": status},
            status_code=200 if ready else 503,
        )

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics() -> Response[bytes]:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [healthz, readyz, metrics]


def infra_checks(db: AsyncDatabase[Document], kafka_bootstrap: str) -> dict[str, ReadinessCheck]:
    """The readiness checks every service shares: MongoDB answers a ping, Kafka answers metadata."""

    async def mongo_ready() -> bool:
        return await mongo.ping(db)

    async def kafka_ready() -> bool:
        return await kafka_reachable(kafka_bootstrap)

    return {"mongo": mongo_ready, "kafka": kafka_ready}
