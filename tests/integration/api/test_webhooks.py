"""The webhook resource: create, read, list, change, rotate and delete, as DESIGN.md §4 describes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, signing
from hookline.mongo import Document
from tests.integration.api.conftest import WEBHOOK, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def test_creating_a_webhook_returns_it_with_its_signing_secret_once(client: Client, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/webhooks",
        json={**WEBHOOK, "description": "CRM sync", "custom_headers": {"X-Team": "crm"}},
        headers=tenant.manage,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("wh_") and len(body["id"]) == 29
    assert body["signing_secret"].startswith("whsec_")
    signing.validate_secret(body["signing_secret"])
    assert body["url"] == WEBHOOK["url"] and body["events"] == ["member.added"]
    assert body["description"] == "CRM sync" and body["custom_headers"] == {"X-Team": "crm"}
    assert body["retry_policy"] == {"policy": "exponential", "attempts": 15, "delay_seconds": 2}
    assert (body["signature_scheme"], body["include"], body["active"], body["status"]) == (
        "standard",
        "*",
        True,
        "enabled",
    )
    assert body["created_at"].endswith("Z") and body["session_id"] is None and body["oidc"] is None
    assert "verification_key" not in body

    fetched = await client.get(f"/v1/webhooks/{body['id']}", headers=tenant.read)
    assert fetched.status_code == 200
    assert "signing_secret" not in fetched.json() and "secret" not in fetched.json()
    assert fetched.json() == {k: v for k, v in body.items() if k != "signing_secret"}


async def test_a_caller_chosen_secret_is_used_and_returned(client: Client, tenant: Tenant) -> None:
    secret = "whsec_" + "QUJD" * 8  # 24 bytes
    response = await client.post("/v1/webhooks", json={**WEBHOOK, "secret": secret}, headers=tenant.manage)
    assert response.status_code == 201, response.text
    assert response.json()["signing_secret"] == secret


async def test_an_ed25519_webhook_returns_a_verification_key_and_no_secret(client: Client, tenant: Tenant) -> None:
    response = await client.post("/v1/webhooks", json={**WEBHOOK, "signature_scheme": "ed25519"}, headers=tenant.manage)
    assert response.status_code == 201, response.text
    body = response.json()
    assert "signing_secret" not in body
    assert body["verification_key"].startswith("whpk_")
    fetched = (await client.get(f"/v1/webhooks/{body['id']}", headers=tenant.read)).json()
    assert fetched["verification_key"] == body["verification_key"]

    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    ours = [k for k in keys if k.get("kid") == body["id"]]
    assert ours and ours[0]["kty"] == "OKP" and ours[0]["crv"] == "Ed25519"
    assert any(k["kty"] == "RSA" and k["alg"] == "RS256" for k in keys)


async def test_the_list_is_newest_first_and_paged_with_a_cursor(client: Client, db: AsyncDatabase[Document]) -> None:
    from tests.integration.api.conftest import new_tenant

    tenant = await new_tenant(db, "pager")
    created = []
    for index in range(5):
        response = await client.post("/v1/webhooks", json={**WEBHOOK, "description": str(index)}, headers=tenant.manage)
        created.append(response.json()["id"])
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await client.get("/v1/webhooks", params={"limit": 2, "cursor": cursor}, headers=tenant.read)
        assert page.status_code == 200
        seen += [w["id"] for w in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor == "":
            break
    assert seen == list(reversed(created)) and pages == 3
    assert (await client.get("/v1/webhooks", params={"limit": 0}, headers=tenant.read)).status_code == 422
    assert (await client.get("/v1/webhooks", params={"limit": 101}, headers=tenant.read)).status_code == 422
    bad_cursor = await client.get("/v1/webhooks", params={"cursor": "nope"}, headers=tenant.read)
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.json()["error"]["message"]


async def test_patch_changes_only_the_given_fields(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/v1/webhooks", json={**WEBHOOK, "description": "old"}, headers=tenant.manage)).json()
    response = await client.patch(
        f"/v1/webhooks/{created['id']}",
        json={
            "events": ["member.*", "invoice.paid"],
            "description": None,
            "retry_policy": {"policy": "fixed", "attempts": 3, "delay_seconds": 60},
            "rate_limit_per_second": 2.5,
            "signature_scheme": "hmac-sha512-hex",
            "session_id": "sess-1",
            "include": "identifiers",
        },
        headers=tenant.manage,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["events"] == ["member.*", "invoice.paid"] and body["description"] is None
    assert body["retry_policy"] == {"policy": "fixed", "attempts": 3, "delay_seconds": 60}
    assert (body["rate_limit_per_second"], body["signature_scheme"], body["session_id"], body["include"]) == (
        2.5,
        "hmac-sha512-hex",
        "sess-1",
        "identifiers",
    )
    assert body["url"] == created["url"] and body["updated_at"] >= created["updated_at"]


async def test_disabling_and_enabling_by_the_caller(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()
    off = (await client.patch(f"/v1/webhooks/{created['id']}", json={"active": False}, headers=tenant.manage)).json()
    assert (off["active"], off["status"], off["status_reason"]) == (False, "disabled", "disabled by the caller")
    on = (await client.patch(f"/v1/webhooks/{created['id']}", json={"status": "enabled"}, headers=tenant.manage)).json()
    assert (on["active"], on["status"], on["status_reason"]) == (True, "enabled", None)
    clash = await client.patch(
        f"/v1/webhooks/{created['id']}", json={"active": True, "status": "disabled"}, headers=tenant.manage
    )
    assert clash.status_code == 422
    inactive = await client.post("/v1/webhooks", json={**WEBHOOK, "active": False}, headers=tenant.manage)
    assert (inactive.json()["status"], inactive.json()["status_reason"]) == ("disabled", "disabled by the caller")


async def test_deleting_a_webhook_makes_it_gone(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()
    response = await client.delete(f"/v1/webhooks/{created['id']}", headers=tenant.manage)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(f"/v1/webhooks/{created['id']}", headers=tenant.read)).status_code == 404
    again = await client.delete(f"/v1/webhooks/{created['id']}", headers=tenant.manage)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


async def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_a_day(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    created = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()
    rotated = await client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=tenant.manage)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["signing_secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["signing_secret"]
    stored = await db[documents.WEBHOOKS].find_one({"_id": created["id"]})
    assert stored is not None
    keys = stored["signing_keys"]
    assert len(keys) == 2 and keys[0].get("expires_at") is None
    expires = keys[1]["expires_at"]
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    # A caller-chosen secret may be given; a bad one is refused with the field named.
    chosen = "whsec_" + "QUJD" * 10
    again = await client.post(
        f"/v1/webhooks/{created['id']}/rotate-secret", json={"secret": chosen}, headers=tenant.manage
    )
    assert again.json()["signing_secret"] == chosen
    bad = await client.post(
        f"/v1/webhooks/{created['id']}/rotate-secret", json={"secret": "nope"}, headers=tenant.manage
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("secret:")


async def test_rotating_an_ed25519_webhook_gives_a_new_verification_key(client: Client, tenant: Tenant) -> None:
    created = (
        await client.post("/v1/webhooks", json={**WEBHOOK, "signature_scheme": "ed25519"}, headers=tenant.manage)
    ).json()
    rotated = (await client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=tenant.manage)).json()
    assert "signing_secret" not in rotated
    assert (
        rotated["verification_key"].startswith("whpk_") and rotated["verification_key"] != created["verification_key"]
    )
    fetched = (await client.get(f"/v1/webhooks/{created['id']}", headers=tenant.read)).json()
    assert fetched["verification_key"] == rotated["verification_key"]


async def test_the_same_routes_answer_under_the_organization_path(
    client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    base = f"/v1/organizations/{tenant.org_id}"
    created = await client.post(f"{base}/webhooks", json=WEBHOOK, headers=tenant.manage)
    assert created.status_code == 201
    webhook_id = created.json()["id"]
    assert (await client.get(f"{base}/webhooks/{webhook_id}", headers=tenant.read)).status_code == 200
    assert (await client.get(f"/v1/webhooks/{webhook_id}", headers=tenant.read)).status_code == 200
    listed = (await client.get(f"{base}/webhooks", headers=tenant.read)).json()["data"]
    assert webhook_id in [w["id"] for w in listed]
    # The path's organization must be the caller's: another one answers 404, even for listing.
    foreign = f"/v1/organizations/{other_tenant.org_id}"
    assert (await client.get(f"{foreign}/webhooks", headers=tenant.read)).status_code == 404
    assert (await client.get(f"{foreign}/webhooks/{webhook_id}", headers=tenant.read)).status_code == 404
    assert (await client.post(f"{foreign}/webhooks", json=WEBHOOK, headers=tenant.manage)).status_code == 404
