"""Composition root of the subscription-api service: `create_app(settings)` builds every concrete part."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from litestar import Litestar, Router
from litestar.types import ASGIApp

from hookline import assertion_key, documents, kafka, mongo
from hookline.event_catalogue import load_catalogue
from hookline.health import health_handlers, infra_checks
from hookline.secret_box import SecretBox
from hookline.settings import Settings, master_key_text
from hookline_api import event_type_routes, history_routes, webhook_routes
from hookline_api.auth import Authenticator, AuthMiddleware
from hookline_api.caller import same_organization
from hookline_api.context import ApiContext
from hookline_api.dependencies import dependencies
from hookline_api.errors import exception_handlers
from hookline_api.idempotency import IdempotencyMiddleware, IdempotencyStore
from hookline_api.jwks_client import JwksCache
from hookline_api.jwks_route import jwks
from hookline_api.openapi_docs import openapi_config
from hookline_api.request_metrics import RequestMetrics

MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings) -> Litestar:
    # Built here, not at start-up, so a bad master key or catalogue file stops the service at once.
    box = SecretBox(master_key_text(settings), settings.retired_keys())
    catalogue = load_catalogue(settings.event_types_file)
    client = mongo.connect(settings.mongo_url)
    db = mongo.database(client)
    ctx = ApiContext(settings=settings, db=db, box=box, catalogue=catalogue)
    http = httpx.AsyncClient(follow_redirects=False)
    jwks_cache = JwksCache(settings.jwks_url, http) if settings.jwks_url else None
    authenticator = Authenticator(db, settings, jwks_cache)
    idempotency = IdempotencyStore(db, box)

    # Closures, not DefineMiddleware: Litestar deep-copies middleware arguments per router, and a database
    # handle must not be copied.
    def authenticated(app: ASGIApp) -> ASGIApp:
        return AuthMiddleware(app, authenticator)

    def idempotent(app: ASGIApp) -> ASGIApp:
        return IdempotencyMiddleware(app, idempotency)

    middleware = [authenticated, idempotent]
    api = [*webhook_routes.HANDLERS, *event_type_routes.HANDLERS, *history_routes.HANDLERS]

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        has_ttl = await mongo.ensure_indexes(db)
        ctx.assertion_jwk = (await assertion_key.load_or_create(db, box)).public_jwk()
        await kafka.wait_for_kafka(settings.kafka_bootstrap)
        ctx.producer_holder.append(await kafka.start_producer(settings.kafka_bootstrap))
        sweeper = (
            None if has_ttl else asyncio.create_task(mongo.run_expiry_sweeper(db, collections=(documents.IDEMPOTENCY,)))
        )
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await ctx.producer.stop()
            await http.aclose()
            await client.close()

    return Litestar(
        route_handlers=[
            *health_handlers(infra_checks(db, settings.kafka_bootstrap)),
            jwks,
            Router("/v1", route_handlers=api, middleware=middleware),
            Router(
                "/v1/organizations/{organization_id:str}",
                route_handlers=api,
                middleware=middleware,
                guards=[same_organization],
            ),
        ],
        dependencies=dependencies(ctx),
        middleware=[RequestMetrics],
        exception_handlers=exception_handlers(),
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )
