"""Idempotency-Key: the same request replays the first answer byte for byte, even under concurrency."""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.ids import new_id
from hookline.mongo import Document
from tests.integration.api.conftest import WEBHOOK, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def count_webhooks(db: AsyncDatabase[Document], org_id: str) -> int:
    return await db[documents.WEBHOOKS].count_documents({"organization_id": org_id})


async def test_the_same_key_and_body_replay_the_first_response(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    headers = {**tenant.manage, "Idempotency-Key": "create-1"}
    first = await client.post("/v1/webhooks", json=WEBHOOK, headers=headers)
    second = await client.post("/v1/webhooks", json=WEBHOOK, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content and "signing_secret" in second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count_webhooks(db, tenant.org_id) == 1


async def test_the_same_key_with_another_body_is_refused(client: Client, tenant: Tenant) -> None:
    headers = {**tenant.manage, "Idempotency-Key": "create-2"}
    assert (await client.post("/v1/webhooks", json=WEBHOOK, headers=headers)).status_code == 201
    reused = await client.post("/v1/webhooks", json={**WEBHOOK, "description": "other"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = await client.post("/v1/event-types", json={"name": "x.y"}, headers=headers)
    assert elsewhere.status_code == 422 and elsewhere.json()["error"]["code"] == "idempotency_key_reused"


async def test_keys_are_scoped_to_the_caller(client: Client, tenant: Tenant, other_tenant: Tenant, db) -> None:
    key = {"Idempotency-Key": "shared-key"}
    a = await client.post("/v1/webhooks", json=WEBHOOK, headers={**tenant.manage, **key})
    b = await client.post("/v1/webhooks", json=WEBHOOK, headers={**other_tenant.manage, **key})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_error_answers_are_replayed_too_and_other_posts_are_covered(client: Client, tenant: Tenant) -> None:
    headers = {**tenant.manage, "Idempotency-Key": "bad-body"}
    bad = {**WEBHOOK, "url": "http://x.example.invalid/"}
    first = await client.post("/v1/webhooks", json=bad, headers=headers)
    again = await client.post("/v1/webhooks", json=bad, headers=headers)
    assert first.status_code == again.status_code == 422 and again.content == first.content
    webhook_id = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()["id"]
    rotate = {**tenant.manage, "Idempotency-Key": "rotate-1"}
    one = await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", headers=rotate)
    two = await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", headers=rotate)
    assert one.status_code == 200 and one.content == two.content


async def test_twenty_concurrent_identical_requests_create_one_webhook(
    served_api: str, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    headers = {**tenant.manage, "Idempotency-Key": f"burst-{secrets.token_hex(4)}", "Content-Type": "application/json"}
    body = json.dumps(WEBHOOK).encode()
    async with httpx.AsyncClient(base_url=served_api, timeout=30) as http:
        answers = await asyncio.gather(*(http.post("/v1/webhooks", content=body, headers=headers) for _ in range(20)))
        # Once the first has finished, everyone gets the replay.
        late = await http.post("/v1/webhooks", content=body, headers=headers)
    assert await count_webhooks(db, tenant.org_id) == 1
    created = [a for a in answers if a.status_code == 201]
    conflicts = [a for a in answers if a.status_code == 409]
    assert len(created) + len(conflicts) == 20 and created
    assert len({a.content for a in created}) == 1
    assert all(a.json()["error"]["code"] == "conflict" for a in conflicts)
    assert late.status_code == 201 and late.content == created[0].content


async def test_the_stored_response_is_sealed(client: Client, tenant: Tenant, db: AsyncDatabase[Document]) -> None:
    key = f"sealed-{secrets.token_hex(4)}"
    created = await client.post("/v1/webhooks", json=WEBHOOK, headers={**tenant.manage, "Idempotency-Key": key})
    secret = created.json()["signing_secret"]
    records = await db[documents.IDEMPOTENCY].find({}).to_list(None)
    assert records and all(r["expires_at"] > r["created_at"] for r in records)
    raw = str(records)
    assert secret not in raw and secret.removeprefix("whsec_") not in raw and created.json()["id"] not in raw


async def test_a_server_error_releases_the_key_so_the_request_can_be_retried(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    broken = new_id("wh")
    # A record no code path writes; reading it fails inside the handler, which answers 500.
    await db[documents.WEBHOOKS].insert_one(
        {"_id": broken, "organization_id": tenant.org_id, "owner": "dashboard", "url": 12, "events": "x"}
    )
    headers = {**tenant.manage, "Idempotency-Key": f"fails-{secrets.token_hex(4)}"}
    first = await client.post(f"/v1/webhooks/{broken}/rotate-secret", headers=headers)
    assert first.status_code == 500
    assert await db[documents.IDEMPOTENCY].count_documents({"state": "in_flight"}) == 0
    # Not a replay of the 500 and not a 409: the request runs again.
    second = await client.post(f"/v1/webhooks/{broken}/rotate-secret", headers=headers)
    assert second.status_code == 500 and "idempotent-replayed" not in second.headers
    await db[documents.WEBHOOKS].delete_one({"_id": broken})
