"""Composition root of the dispatcher service: `create_app(settings)` builds every concrete part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from hookline import mongo
from hookline.health import health_handlers, infra_checks
from hookline.secret_box import SecretBox
from hookline.settings import Settings, master_key_text
from hookline_dispatcher.engine import Engine
from hookline_dispatcher.options import DispatcherOptions


def create_app(settings: Settings, options: DispatcherOptions | None = None) -> Litestar:
    client = mongo.connect(settings.mongo_url)
    db = mongo.database(client)
    box = SecretBox(master_key_text(settings), settings.retired_keys())
    engine = Engine(settings, db, box, options or DispatcherOptions())

    async def engine_ready() -> bool:
        return engine.ready

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()
            await client.close()

    checks = {**infra_checks(db, settings.kafka_bootstrap), "dispatcher": engine_ready}
    return Litestar(route_handlers=health_handlers(checks), lifespan=[lifespan])
