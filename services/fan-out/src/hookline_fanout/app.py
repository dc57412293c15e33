"""Composition root of the fan-out service: `create_app(settings)` builds every concrete part."""

from __future__ import annotations

from litestar import Litestar

from hookline import mongo
from hookline.health import health_handlers, infra_checks
from hookline.settings import Settings


def create_app(settings: Settings) -> Litestar:
    client = mongo.connect(settings.mongo_url)
    db = mongo.database(client)

    async def close_mongo() -> None:
        await client.close()

    return Litestar(
        route_handlers=health_handlers(infra_checks(db, settings.kafka_bootstrap)),
        on_shutdown=[close_mongo],
    )
