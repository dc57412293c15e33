"""Composition root of the fan-out service: `create_app(settings)` builds every concrete part."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from hookline import mongo
from hookline.health import health_handlers, infra_checks
from hookline.kafka import start_producer
from hookline.settings import Settings
from hookline.supervision import run_forever
from hookline_fanout.endpoints_follower import EndpointsFollower
from hookline_fanout.fanout_consumer import GROUP_ID, FanoutConsumer
from hookline_fanout.metrics import FanoutMetrics
from hookline_fanout.webhook_index import WebhookIndex


def create_app(settings: Settings, *, group_id: str = GROUP_ID) -> Litestar:
    """Health and metrics over HTTP; the lifespan builds the webhook index (before the app answers), then
    starts consuming events. `app.state.fanout` holds the running consumer."""
    client = mongo.connect(settings.mongo_url)
    db = mongo.database(client)
    metrics = FanoutMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        follower = EndpointsFollower(settings.kafka_bootstrap, WebhookIndex())
        producer = await start_producer(settings.kafka_bootstrap, linger_ms=10)
        consumer = FanoutConsumer(
            bootstrap=settings.kafka_bootstrap, follower=follower, producer=producer, metrics=metrics, group_id=group_id
        )
        task: asyncio.Task[None] | None = None
        try:
            await follower.start()
            await consumer.start()
            app.state.fanout = consumer
            app.state.follower = follower
            task = asyncio.create_task(run_forever(consumer.run, "fan-out loop"))
            yield
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await consumer.stop()
            await follower.stop()
            await producer.stop()
            await client.close()

    return Litestar(
        route_handlers=health_handlers(infra_checks(db, settings.kafka_bootstrap), registry=metrics.registry),
        lifespan=[lifespan],
    )
