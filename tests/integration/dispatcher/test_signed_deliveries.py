"""Deliveries carry the DESIGN.md §6 headers for every scheme, checked by verifiers that are not ours."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymongo.asynchronous.database import AsyncDatabase
from standardwebhooks.webhooks import Webhook as StandardWebhook

from hookline import delivery_status, documents
from hookline.mongo import Document
from hookline.signing import generate_secret, public_key_for
from tests.integration.dispatcher.conftest import RunningEngine, wait_until
from tests.integration.dispatcher.receivers import ReceiverHub
from tests.integration.dispatcher.seeding import create_webhook, make_task

pytestmark = pytest.mark.integration


async def test_standard_signature_verifies_with_the_standardwebhooks_package(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add()
    webhook, secret = await create_webhook(db, producer, route.url)
    task = make_task(webhook, data={"member_id": "mem_42", "roles": ["admin"]})
    await dispatcher.send(task)
    [request] = await route.wait_for(1)
    payload = StandardWebhook(secret).verify(request.body, request.headers)
    assert payload == json.loads(task_body_json(task))
    assert request.headers["webhook-id"] == task.event.id
    assert request.headers["x-webhook-request-id"] == task.event.id
    assert int(request.headers["x-webhook-timestamp"]) == int(request.headers["webhook-timestamp"]) * 1000
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Hookline/0.1"

    async def delivery_succeeded() -> bool:
        delivery = await delivery_status.find(db, task.delivery_id)
        return delivery is not None and delivery.status == "succeeded"

    await wait_until(delivery_succeeded, what="the delivery to show succeeded")
    # Succeeded at the first attempt: the attempt is the delivery's only document.
    assert await db[documents.DELIVERIES].count_documents({"_id": task.delivery_id}) == 0
    attempts = await db[documents.ATTEMPTS].find({"delivery_id": task.delivery_id}).to_list(None)
    assert [(a["attempt"], a["status"], a["status_code"], a["response_body"]) for a in attempts] == [
        (1, "succeeded", 200, "ok")
    ]
    assert attempts[0]["_id"].startswith("att_") and attempts[0]["latency_ms"] > 0
    assert attempts[0]["expires_at"] - attempts[0]["created_at"] == timedelta(days=30)


def task_body_json(task: object) -> bytes:
    from hookline_dispatcher.payload import body_for

    return body_for(task.event, "*")  # type: ignore[attr-defined]


async def test_ed25519_signature_verifies_with_the_published_public_key(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add()
    webhook, private_key = await create_webhook(db, producer, route.url, signature_scheme="ed25519")
    published = public_key_for(private_key)
    await dispatcher.send(make_task(webhook))
    [request] = await route.wait_for(1)
    raw_public = base64.b64decode(published.removeprefix("whpk_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    version, signature = request.headers["webhook-signature"].split(",", 1)
    assert version == "v1a"
    Ed25519PublicKey.from_public_bytes(raw_public).verify(base64.b64decode(signature), signed)


@pytest.mark.parametrize(
    ("scheme", "header", "digest"),
    [
        ("hmac-sha256-hex", "x-webhook-signature", "sha256"),
        ("hmac-sha512-hex", "x-webhook-hmac", "sha512"),
    ],
)
async def test_hex_signatures_are_plain_hmacs_of_the_body_keyed_by_the_secret_string(
    dispatcher: RunningEngine,
    hub: ReceiverHub,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    scheme: str,
    header: str,
    digest: str,
) -> None:
    route = hub.add()
    webhook, secret = await create_webhook(db, producer, route.url, signature_scheme=scheme)
    await dispatcher.send(make_task(webhook))
    [request] = await route.wait_for(1)
    expected = hmac.new(secret.encode(), request.body, digest).hexdigest()
    assert request.headers[header] == expected
    if scheme == "hmac-sha512-hex":
        assert request.headers["x-webhook-hmac-algorithm"] == "sha512"
    assert request.headers["webhook-signature"].startswith("v1,")


async def test_a_rotated_secret_signs_alongside_the_new_one_until_it_expires(
    dispatcher: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add()
    old, new, expired = generate_secret("standard"), generate_secret("standard"), generate_secret("standard")
    now = datetime.now(UTC)
    webhook, _ = await create_webhook(
        db,
        producer,
        route.url,
        secrets_newest_first=[(new, None), (old, now + timedelta(hours=24)), (expired, now - timedelta(seconds=1))],
    )
    await dispatcher.send(make_task(webhook))
    [request] = await route.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    StandardWebhook(new).verify(request.body, request.headers)
    StandardWebhook(old).verify(request.body, request.headers)
    with pytest.raises(Exception, match="No matching signature found"):
        StandardWebhook(expired).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ("*", {"member_id": "mem_1", "name": "Ada", "roles": ["admin"], "profile": {"age": 36}, "active": True}),
        ("identifiers", {"member_id": "mem_1", "name": "Ada", "active": True}),
        ("member_id, roles,missing", {"member_id": "mem_1", "roles": ["admin"]}),
    ],
)
async def test_include_shapes_the_data_and_custom_headers_come_last(
    dispatcher: RunningEngine,
    hub: ReceiverHub,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    include: str,
    expected: dict[str, object],
) -> None:
    route = hub.add()
    webhook, _ = await create_webhook(
        db,
        producer,
        route.url,
        include=include,
        custom_headers={"X-Tenant": "acme", "User-Agent": "acme-hooks"},
    )
    data = {"member_id": "mem_1", "name": "Ada", "roles": ["admin"], "profile": {"age": 36}, "active": True}
    task = make_task(webhook, data=data)
    await dispatcher.send(task)
    [request] = await route.wait_for(1)
    body = json.loads(request.body)
    assert body["data"] == expected
    assert {k: body[k] for k in ("id", "type", "organization_id", "session_id")} == {
        "id": task.event.id,
        "type": "member.added",
        "organization_id": webhook.organization_id,
        "session_id": None,
    }
    assert request.headers["x-tenant"] == "acme"
    assert request.headers["user-agent"] == "acme-hooks"
