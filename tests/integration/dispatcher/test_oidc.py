"""Deliveries to webhooks with `oidc` carry a bearer token from a real token endpoint, fetched once and cached."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import jwt
import pytest
import structlog
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import assertion_key, documents, ids
from hookline.messages import OidcConfig
from hookline.mongo import Document
from hookline.retry_schedule import RetryPolicy
from tests.integration.dispatcher.conftest import RunningEngine, wait_until
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route
from tests.integration.dispatcher.seeding import BOX, create_webhook, make_task

pytestmark = pytest.mark.integration


def form_of(request: Received) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


def token_endpoint(hub: ReceiverHub, check: object) -> Route:
    async def issue(route: Route, request: Received) -> Reply:
        try:
            check(request)  # type: ignore[operator]
        except Exception as exc:
            return 401, {"Content-Type": "application/json"}, json.dumps({"error": str(exc)}).encode()
        body = {"access_token": f"tok-{len(route.received)}", "token_type": "Bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    return hub.add(issue)


async def test_client_secret_tokens_are_requested_once_for_many_deliveries(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    def check(request: Received) -> None:
        form = form_of(request)
        assert form == {
            "grant_type": "client_credentials",
            "client_id": "client-1",
            "client_secret": "s3cret",
            "scope": "hooks.write",
            "resource": "https://receiver.example/",
        }, form

    tokens = token_endpoint(hub, check)
    route = hub.add()
    webhook_id = ids.new_id("wh")
    oidc = OidcConfig(
        auth_method="client_secret",
        client_id="client-1",
        token_endpoint=tokens.url,
        scope="hooks.write",
        resource_uri="https://receiver.example/",
        client_secret_sealed=BOX.seal("s3cret", context=webhook_id),
    )
    webhook, _ = await create_webhook(db, producer, route.url, webhook_id=webhook_id, oidc=oidc)
    await dispatcher.send(*(make_task(webhook) for _ in range(10)))
    received = await route.wait_for(10)
    assert len(tokens.received) == 1
    assert {r.headers["authorization"] for r in received} == {"Bearer tok-1"}


async def test_private_key_jwt_assertions_verify_with_hooklines_published_key(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    key = await assertion_key.load_or_create(db, BOX)
    public = jwt.PyJWK(key.public_jwk())
    endpoint_url: list[str] = []

    def check(request: Received) -> None:
        form = form_of(request)
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assert "client_secret" not in form
        assertion = form["client_assertion"]
        assert jwt.get_unverified_header(assertion)["kid"] == key.kid
        claims = jwt.decode(assertion, public.key, algorithms=["RS256"], audience=endpoint_url[0], issuer="client-2")
        assert claims["sub"] == "client-2" and claims["jti"] and claims["exp"] - claims["iat"] == 60

    tokens = token_endpoint(hub, check)
    endpoint_url.append(tokens.url)
    route = hub.add()
    oidc = OidcConfig(auth_method="private_key_jwt", client_id="client-2", token_endpoint=tokens.url)
    webhook, _ = await create_webhook(db, producer, route.url, oidc=oidc)
    await dispatcher.send(*(make_task(webhook) for _ in range(5)))
    received = await route.wait_for(5)
    assert len(tokens.received) == 1
    assert {r.headers["authorization"] for r in received} == {"Bearer tok-1"}


async def test_a_token_endpoint_failure_is_a_failed_attempt_with_error_auth(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    def refuse(request: Received) -> None:
        raise ValueError("invalid_client")

    tokens = token_endpoint(hub, refuse)
    route = hub.add()
    oidc = OidcConfig(auth_method="private_key_jwt", client_id="client-3", token_endpoint=tokens.url)
    webhook, _ = await create_webhook(
        db, producer, route.url, oidc=oidc, retry_policy=RetryPolicy(policy="fixed", attempts=1, delay_seconds=1)
    )
    task = make_task(webhook)
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await dispatcher.send(task)

        async def failed() -> bool:
            doc = await db[documents.DELIVERIES].find_one({"_id": task.delivery_id})
            return doc is not None and doc["status"] == "failed"

        await wait_until(failed, what="the delivery to fail")
    # The log line names the event, the webhook and the delivery it concerns, and never the token or a secret.
    [line] = [entry for entry in logs if entry["event"] == "oidc token unavailable"]
    assert (line["event_id"], line["webhook_id"], line["delivery_id"]) == (task.event.id, webhook.id, task.delivery_id)
    [attempt] = await db[documents.ATTEMPTS].find({"delivery_id": task.delivery_id}).to_list(None)
    assert (attempt["status"], attempt["error"], attempt["status_code"]) == ("failed", "auth", None)
    assert route.received == []
