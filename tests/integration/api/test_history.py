"""Delivery history and control: attempts, replays, manual retries, tests, and one event's deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, mongo, topics
from hookline.documents import Attempt, Delivery
from hookline.ids import derived_id, new_id
from hookline.messages import DeliveryTask
from hookline.mongo import Document
from hookline.settings import Settings
from tests.integration.api.conftest import WEBHOOK, Tenant, read_topic

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


async def make_webhook(client: Client, tenant: Tenant, **fields: Any) -> str:
    response = await client.post("/v1/webhooks", json={**WEBHOOK, **fields}, headers=tenant.manage)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def store_event(db: AsyncDatabase[Document], org_id: str, event_type: str, at: datetime, **extra: Any) -> str:
    event_id = new_id("evt")
    await db[documents.EVENTS].insert_one(
        {
            "_id": event_id,
            "organization_id": org_id,
            "type": event_type,
            "session_id": extra.get("session_id"),
            "data": {"n": event_type},
            "created_at": ms(at),
            "producer_id": None,
            "expires_at": at + timedelta(days=30),
        }
    )
    return event_id


async def store_delivery(
    db: AsyncDatabase[Document], org_id: str, webhook_id: str, event_id: str, at: datetime, status: str, attempts: int
) -> str:
    delivery_id = derived_id("dlv", at=ms(at), seed=f"{event_id}:{webhook_id}")
    delivery = Delivery(
        id=delivery_id,
        organization_id=org_id,
        webhook_id=webhook_id,
        event_id=event_id,
        status=status,  # type: ignore[arg-type]
        attempts=attempts,
        last_status_code=500 if status == "failed" else 200,
        created_at=ms(at),
        updated_at=ms(at),
        expires_at=at + timedelta(days=30),
    )
    await db[documents.DELIVERIES].insert_one(mongo.to_document(delivery))
    return delivery_id


async def tasks_for(settings: Settings, webhook_id: str, count: int) -> list[DeliveryTask]:
    values = await read_topic(settings.kafka_bootstrap, topics.DELIVERIES, webhook_id, count)
    return [msgspec.json.decode(v or b"", type=DeliveryTask) for v in values]


async def test_attempts_are_listed_newest_first_filtered_and_paged(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    webhook_id = await make_webhook(client, tenant)
    now = datetime.now(UTC)
    ids = []
    for index in range(5):
        attempt = Attempt(
            id=new_id("att"),
            organization_id=tenant.org_id,
            webhook_id=webhook_id,
            event_id="evt_1",
            delivery_id="dlv_1",
            attempt=index + 1,
            status="succeeded" if index == 4 else "failed",
            status_code=None if index == 0 else (200 if index == 4 else 503),
            error="connect" if index == 0 else (None if index == 4 else "http_status"),
            latency_ms=12.5,
            response_body="x" * 5000 if index == 3 else None,
            next_retry_at=None if index == 4 else now + timedelta(seconds=2),
            created_at=now,
            expires_at=now + timedelta(days=30),
        )
        await db[documents.ATTEMPTS].insert_one(mongo.to_document(attempt))
        ids.append(attempt.id)
    path = f"/v1/webhooks/{webhook_id}/attempts"
    everything = (await client.get(path, params={"limit": 100}, headers=tenant.read)).json()
    assert [a["id"] for a in everything["data"]] == list(reversed(ids)) and everything["next_cursor"] == ""
    newest = everything["data"][0]
    assert set(newest) == {
        "id", "event_id", "delivery_id", "attempt", "status", "status_code", "error",
        "latency_ms", "response_body", "next_retry_at", "created_at",
    }  # fmt: skip
    assert (newest["status"], newest["status_code"], newest["next_retry_at"]) == ("succeeded", 200, None)
    assert len(everything["data"][1]["response_body"]) == 4096
    assert everything["data"][-1]["status_code"] is None and everything["data"][-1]["error"] == "connect"
    failed = (await client.get(path, params={"status": "failed"}, headers=tenant.read)).json()["data"]
    assert [a["id"] for a in failed] == list(reversed(ids[:4]))
    first = (await client.get(path, params={"limit": 2}, headers=tenant.read)).json()
    second = (await client.get(path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.read)).json()
    assert [a["id"] for a in first["data"] + second["data"]] == list(reversed(ids))[:4]
    assert (await client.get(path, params={"status": "maybe"}, headers=tenant.read)).status_code == 422


async def test_replaying_failed_requeues_the_failed_deliveries_of_the_window(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    webhook_id = await make_webhook(client, tenant)
    now = datetime.now(UTC)
    e1 = await store_event(db, tenant.org_id, "member.added", now - timedelta(hours=2))
    e2 = await store_event(db, tenant.org_id, "member.added", now - timedelta(hours=1))
    e3 = await store_event(db, tenant.org_id, "member.added", now - timedelta(days=3))
    d1 = await store_delivery(db, tenant.org_id, webhook_id, e1, now - timedelta(hours=2), "failed", 15)
    await store_delivery(db, tenant.org_id, webhook_id, e2, now - timedelta(hours=1), "succeeded", 1)
    await store_delivery(db, tenant.org_id, webhook_id, e3, now - timedelta(days=3), "failed", 15)
    response = await client.post(
        f"/v1/webhooks/{webhook_id}/replay",
        json={"since": (now - timedelta(days=1)).isoformat(), "status": "failed"},
        headers=tenant.manage,
    )
    assert response.status_code == 202, response.text
    assert response.json()["queued"] == 1
    [task] = await tasks_for(api_settings, webhook_id, 1)
    assert (task.delivery_id, task.reason, task.attempt, task.prior_attempts) == (d1, "replay", 1, 15)
    assert (task.event.id, task.event.type, task.organization_id) == (e1, "member.added", tenant.org_id)


async def test_replaying_all_rematches_every_stored_event_of_the_window(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    webhook_id = await make_webhook(client, tenant, events=["member.*"])
    now = datetime.now(UTC)
    matching = await store_event(db, tenant.org_id, "member.added", now - timedelta(hours=3))
    await store_event(db, tenant.org_id, "invoice.paid", now - timedelta(hours=2))
    seen_before = await store_event(db, tenant.org_id, "member.removed", now - timedelta(hours=1))
    await store_event(db, tenant.org_id, "member.added", now - timedelta(days=5))
    await store_delivery(db, tenant.org_id, webhook_id, seen_before, now - timedelta(hours=1), "failed", 4)
    response = await client.post(
        f"/v1/webhooks/{webhook_id}/replay",
        json={"since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat(), "status": "all"},
        headers=tenant.manage,
    )
    assert response.status_code == 202 and response.json()["queued"] == 2
    tasks = await tasks_for(api_settings, webhook_id, 2)
    assert {(t.event.id, t.prior_attempts, t.reason) for t in tasks} == {
        (matching, 0, "replay"),
        (seen_before, 4, "replay"),
    }
    for task in tasks:
        assert task.delivery_id == derived_id("dlv", at=task.event.created_at, seed=f"{task.event.id}:{webhook_id}")


async def test_replay_windows_are_checked(client: Client, tenant: Tenant) -> None:
    webhook_id = await make_webhook(client, tenant)
    path = f"/v1/webhooks/{webhook_id}/replay"
    now = datetime.now(UTC)
    for body, field in [
        ({"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}, "until"),
        ({"since": (now - timedelta(days=200)).isoformat()}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": now.isoformat()}, "since"),
        ({"since": now.isoformat(), "status": "some"}, "status"),
    ]:
        response = await client.post(path, json=body, headers=tenant.manage)
        assert response.status_code == 422, body
        assert field in response.json()["error"]["message"]


async def test_one_delivery_can_be_retried_by_hand(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    webhook_id = await make_webhook(client, tenant)
    now = datetime.now(UTC)
    event_id = await store_event(db, tenant.org_id, "member.added", now)
    delivery_id = await store_delivery(db, tenant.org_id, webhook_id, event_id, now, "failed", 7)
    response = await client.post(f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", headers=tenant.manage)
    assert response.status_code == 202, response.text
    assert response.json() == {"delivery_id": delivery_id, "event_id": event_id}
    [task] = await tasks_for(api_settings, webhook_id, 1)
    assert (task.delivery_id, task.reason, task.attempt, task.prior_attempts) == (delivery_id, "manual_retry", 1, 7)
    missing = await client.post(f"/v1/webhooks/{webhook_id}/deliveries/dlv_01NOPE/retry", headers=tenant.manage)
    assert missing.status_code == 404


async def test_a_test_delivery_is_queued_for_that_webhook_only(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    webhook_id = await make_webhook(client, tenant, session_id="sess-9")
    response = await client.post(f"/v1/webhooks/{webhook_id}/test", headers=tenant.manage)
    assert response.status_code == 202, response.text
    body = response.json()
    [task] = await tasks_for(api_settings, webhook_id, 1)
    assert (task.reason, task.event.type, task.event.id, task.delivery_id) == (
        "test",
        "webhook.test",
        body["event_id"],
        body["delivery_id"],
    )
    assert task.event.session_id == "sess-9" and task.webhook_id == webhook_id
    stored = await db[documents.EVENTS].find_one({"_id": body["event_id"]})
    assert stored is not None and stored["organization_id"] == tenant.org_id
    event = await client.get(f"/v1/events/{body['event_id']}", headers=tenant.read)
    assert event.status_code == 200 and event.json()["type"] == "webhook.test"


async def test_a_disabled_webhook_refuses_tests_and_replays(client: Client, tenant: Tenant) -> None:
    webhook_id = await make_webhook(client, tenant, active=False)
    test = await client.post(f"/v1/webhooks/{webhook_id}/test", headers=tenant.manage)
    assert test.status_code == 409 and test.json()["error"]["code"] == "conflict"
    replay = await client.post(
        f"/v1/webhooks/{webhook_id}/replay",
        json={"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"},
        headers=tenant.manage,
    )
    assert replay.status_code == 409


async def test_an_event_shows_its_delivery_status_per_visible_webhook(
    client: Client, tenant: Tenant, other_tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    first = await make_webhook(client, tenant)
    second = await make_webhook(client, tenant)
    now = datetime.now(UTC)
    event_id = await store_event(db, tenant.org_id, "member.added", now)
    await store_delivery(db, tenant.org_id, first, event_id, now, "succeeded", 1)
    await store_delivery(db, tenant.org_id, second, event_id, now, "failed", 15)
    await store_delivery(db, tenant.org_id, "wh_01CLIENTOWNEDXXXXXXXXXXXXX", event_id, now, "pending", 0)
    response = await client.get(f"/v1/events/{event_id}", headers=tenant.read)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["type"], body["organization_id"], body["data"]) == (
        event_id,
        "member.added",
        tenant.org_id,
        {"n": "member.added"},
    )
    statuses = {d["webhook_id"]: (d["status"], d["attempts"]) for d in body["deliveries"]}
    assert statuses == {first: ("succeeded", 1), second: ("failed", 15)}
    assert (await client.get(f"/v1/events/{event_id}", headers=other_tenant.read)).status_code == 404
    assert (await client.get("/v1/events/evt_01NOPE", headers=tenant.read)).status_code == 404


async def test_a_delivery_that_succeeded_at_its_first_attempt_is_known_by_that_attempt(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    webhook_id = await make_webhook(client, tenant)
    now = datetime.now(UTC)
    event_id = await store_event(db, tenant.org_id, "member.added", now)
    delivery_id = derived_id("dlv", at=ms(now), seed=f"{event_id}:{webhook_id}")
    # What the dispatcher stores for a first-attempt success: the attempt, and no status document.
    attempt = Attempt(
        id=new_id("att"),
        organization_id=tenant.org_id,
        webhook_id=webhook_id,
        event_id=event_id,
        delivery_id=delivery_id,
        attempt=1,
        status="succeeded",
        status_code=204,
        latency_ms=3.0,
        created_at=ms(now),
        expires_at=now + timedelta(days=30),
    )
    await db[documents.ATTEMPTS].insert_one(mongo.to_document(attempt))
    body = (await client.get(f"/v1/events/{event_id}", headers=tenant.read)).json()
    [delivery] = body["deliveries"]
    assert (delivery["delivery_id"], delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        delivery_id,
        "succeeded",
        1,
        204,
    )
    response = await client.post(f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", headers=tenant.manage)
    assert response.status_code == 202, response.text
    [task] = await tasks_for(api_settings, webhook_id, 1)
    assert (task.delivery_id, task.reason, task.prior_attempts) == (delivery_id, "manual_retry", 1)
