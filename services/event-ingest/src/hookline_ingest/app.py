"""Composition root of the event-ingest service: `create_app(settings)` builds every concrete part."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from hookline import documents, event_catalogue, mongo
from hookline.health import health_handlers, infra_checks
from hookline.kafka import start_producer
from hookline.settings import Settings
from hookline.supervision import run_forever
from hookline_ingest.acceptance import EventAcceptor
from hookline_ingest.authentication import ApiKeyAuthenticator
from hookline_ingest.event_checks import EventChecks
from hookline_ingest.http_errors import EXCEPTION_HANDLERS
from hookline_ingest.http_routes import event_routes
from hookline_ingest.ingest_consumer import GROUP_ID, IngestConsumer, source_topics
from hookline_ingest.metrics import IngestMetrics
from hookline_ingest.producer_ids import ProducerIdLedger


def create_app(settings: Settings, *, group_id: str = GROUP_ID, consume: bool = True) -> Litestar:
    """The HTTP app; its lifespan starts the Kafka producer and (unless `consume=False`) the consumer."""
    client = mongo.connect(settings.mongo_url)
    db = mongo.database(client)
    metrics = IngestMetrics()
    catalogue = event_catalogue.load_catalogue(settings.event_types_file)
    checks = EventChecks(db, catalogue)
    ledger = ProducerIdLedger(db)
    authenticator = ApiKeyAuthenticator(db)
    # The acceptor needs the Kafka producer, which needs the running event loop: built in the lifespan.
    parts: dict[str, EventAcceptor] = {}

    def current_acceptor() -> EventAcceptor:
        return parts["acceptor"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        producer = await start_producer(settings.kafka_bootstrap)
        acceptor = EventAcceptor(db, producer, checks, ledger, retention_days=settings.event_retention_days)
        parts["acceptor"] = acceptor
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(mongo.run_expiry_sweeper(db, collections=(documents.EVENTS, documents.EVENT_IDS)))
        ]
        consumer: IngestConsumer | None = None
        try:
            if consume:
                consumer = IngestConsumer(
                    bootstrap=settings.kafka_bootstrap,
                    source=source_topics(settings.ingest_extra_topics),
                    acceptor=acceptor,
                    producer=producer,
                    metrics=metrics,
                    max_event_bytes=settings.max_event_bytes,
                    group_id=group_id,
                )
                await consumer.start()
                app.state.consumer = consumer
                tasks.append(asyncio.create_task(run_forever(consumer.run, "ingest consumer loop")))
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if consumer is not None:
                await consumer.stop()
            await producer.stop()
            await client.close()

    return Litestar(
        route_handlers=[
            *event_routes(current_acceptor, authenticator, metrics, max_event_bytes=settings.max_event_bytes),
            *health_handlers(infra_checks(db, settings.kafka_bootstrap), registry=metrics.registry),
        ],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=max(16 * 1024 * 1024, 4 * settings.max_event_bytes),
        state=None,
    )
