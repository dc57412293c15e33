"""Who may call: API keys in both schemes, JWT person logins by role, OAuth client tokens, and tenant boundaries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.mongo import Document
from tests.integration.api.conftest import WEBHOOK, JwksServer, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_both_api_key_schemes_are_accepted(client: Client, tenant: Tenant) -> None:
    for scheme in ("Bearer", "AccessKey", "bearer"):
        response = await client.get("/v1/webhooks", headers={"Authorization": f"{scheme} {tenant.read_key}"})
        assert response.status_code == 200, (scheme, response.text)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwdw==", "Bearer hl_live_short", "Bearer hl_live_" + "x" * 43, "Bearer a.b.c"],
)
async def test_missing_or_bad_credentials_answer_401(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/v1/webhooks", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_revoked_key_is_refused(client: Client, tenant: Tenant, db: AsyncDatabase[Document]) -> None:
    from hookline.api_keys import hash_api_key

    await db[documents.API_KEYS].update_one(
        {"hash": hash_api_key(tenant.publish_key)}, {"$set": {"revoked_at": datetime.now(UTC)}}
    )
    response = await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {tenant.publish_key}"})
    assert response.status_code == 401


async def test_scopes_decide_what_an_api_key_may_do(client: Client, tenant: Tenant) -> None:
    assert (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.read)).status_code == 403
    created = await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)
    webhook_id = created.json()["id"]
    assert (await client.get(f"/v1/webhooks/{webhook_id}", headers=tenant.read)).status_code == 200
    forbidden = await client.patch(f"/v1/webhooks/{webhook_id}", json={"active": False}, headers=tenant.read)
    assert forbidden.status_code == 403 and "webhooks.manage" in forbidden.json()["error"]["message"]
    assert (await client.delete(f"/v1/webhooks/{webhook_id}", headers=tenant.read)).status_code == 403
    assert (await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", headers=tenant.read)).status_code == 403
    publish_only = {"Authorization": f"Bearer {tenant.publish_key}"}
    assert (await client.get("/v1/webhooks", headers=publish_only)).status_code == 403


async def test_person_roles_owner_and_admin_manage_and_member_reads(
    client: Client, tenant: Tenant, jwks_server: JwksServer
) -> None:
    ids = []
    for role in ("OWNER", "ADMIN"):
        token = jwks_server.token(org=tenant.org_id, role=role, sub=f"user-{role}")
        response = await client.post("/v1/webhooks", json=WEBHOOK, headers=bearer(token))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    member = bearer(jwks_server.token(org=tenant.org_id, role="MEMBER", sub="user-m"))
    assert (await client.post("/v1/webhooks", json=WEBHOOK, headers=member)).status_code == 403
    listed = await client.get("/v1/webhooks", headers=member)
    assert listed.status_code == 200 and set(ids) <= {w["id"] for w in listed.json()["data"]}
    # Person-made webhooks are dashboard-managed: API keys of the organization see them too.
    assert (await client.get(f"/v1/webhooks/{ids[0]}", headers=tenant.read)).status_code == 200


async def test_an_es256_token_is_accepted(client: Client, tenant: Tenant, jwks_server: JwksServer) -> None:
    token = jwks_server.token(alg="ES256", org=tenant.org_id, role="ADMIN", sub="user-ec")
    assert (await client.get("/v1/webhooks", headers=bearer(token))).status_code == 200


async def test_bad_tokens_answer_401(client: Client, tenant: Tenant, jwks_server: JwksServer) -> None:
    now = datetime.now(UTC)
    good = {"org": tenant.org_id, "role": "OWNER", "sub": "u"}
    stranger_ec = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "expired": jwks_server.token(**good, exp=now - timedelta(minutes=5)),
        "not yet valid": jwks_server.token(**good, nbf=now + timedelta(minutes=5)),
        "no exp": jwks_server.token(**good, exp=None),
        "wrong audience": jwks_server.token(**good, aud="someone-else"),
        "wrong issuer": jwks_server.token(**good, iss="https://evil.example/"),
        "unknown kid": jwks_server.token(**good, kid="nope"),
        "signed by a stranger": jwks_server.token(**good, key=jwks_server.stranger),
        "stranger with a known kid": jwks_server.token(**good, alg="ES256", key=stranger_ec),
        "no org": jwks_server.token(role="OWNER", sub="u"),
        "bad role": jwks_server.token(org=tenant.org_id, role="ROOT", sub="u"),
        "no role and no client": jwks_server.token(org=tenant.org_id, sub="u"),
    }
    for case, token in cases.items():
        response = await client.get("/v1/webhooks", headers=bearer(token))
        assert response.status_code == 401, (case, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
    import jwt

    hs256 = jwt.encode({**good, "exp": now + timedelta(minutes=5)}, "k" * 32, algorithm="HS256")
    assert (await client.get("/v1/webhooks", headers=bearer(hs256))).status_code == 401

    def b64(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value, default=str).encode()).rstrip(b"=").decode()

    none_alg = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({**good, 'exp': int(now.timestamp()) + 300})}."
    assert (await client.get("/v1/webhooks", headers=bearer(none_alg))).status_code == 401


async def test_an_oauth_client_sees_only_its_own_webhooks(
    client: Client, tenant: Tenant, jwks_server: JwksServer
) -> None:
    client_a = bearer(jwks_server.token(org=tenant.org_id, client_id="app-a", scope="webhooks.manage"))
    client_b = bearer(jwks_server.token(org=tenant.org_id, client_id="app-b", scope="webhooks.manage webhooks.read"))
    reader = bearer(jwks_server.token(org=tenant.org_id, client_id="app-r", scope="webhooks.read"))
    dashboard = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()["id"]
    owned = await client.post("/v1/webhooks", json=WEBHOOK, headers=client_a)
    assert owned.status_code == 201
    owned_id = owned.json()["id"]
    # The client sees its own and not the dashboard's...
    assert (await client.get(f"/v1/webhooks/{owned_id}", headers=client_a)).status_code == 200
    assert (await client.get(f"/v1/webhooks/{dashboard}", headers=client_a)).status_code == 404
    assert [w["id"] for w in (await client.get("/v1/webhooks", headers=client_a)).json()["data"]] == [owned_id]
    # ...nor does another client or the dashboard see the client's.
    assert (await client.get(f"/v1/webhooks/{owned_id}", headers=client_b)).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{owned_id}", headers=client_b)).status_code == 404
    assert (await client.get(f"/v1/webhooks/{owned_id}", headers=tenant.read)).status_code == 404
    dashboard_ids = {
        w["id"] for w in (await client.get("/v1/webhooks", params={"limit": 100}, headers=tenant.read)).json()["data"]
    }
    assert owned_id not in dashboard_ids and dashboard in dashboard_ids
    # Client tokens are scoped: read-only may not manage.
    assert (await client.post("/v1/webhooks", json=WEBHOOK, headers=reader)).status_code == 403


async def test_another_organizations_webhook_is_not_found(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    webhook_id = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()["id"]
    path = f"/v1/webhooks/{webhook_id}"
    assert (await client.get(path, headers=other_tenant.read)).status_code == 404
    assert (await client.patch(path, json={"active": False}, headers=other_tenant.manage)).status_code == 404
    assert (await client.delete(path, headers=other_tenant.manage)).status_code == 404
    assert (await client.post(f"{path}/rotate-secret", headers=other_tenant.manage)).status_code == 404
    assert (await client.post(f"{path}/test", headers=other_tenant.manage)).status_code == 404
    assert (await client.get(f"{path}/attempts", headers=other_tenant.read)).status_code == 404
    listed = (await client.get("/v1/webhooks", params={"limit": 100}, headers=other_tenant.read)).json()["data"]
    assert webhook_id not in {w["id"] for w in listed}
    # And it is untouched.
    assert (await client.get(path, headers=tenant.read)).json()["active"] is True


async def test_the_jwks_is_fetched_once_and_cached(client: Client, tenant: Tenant, jwks_server: JwksServer) -> None:
    token = bearer(jwks_server.token(org=tenant.org_id, role="MEMBER", sub="cache"))
    await client.get("/v1/webhooks", headers=token)
    before = jwks_server.requests
    for _ in range(5):
        assert (await client.get("/v1/webhooks", headers=token)).status_code == 200
    assert jwks_server.requests == before
