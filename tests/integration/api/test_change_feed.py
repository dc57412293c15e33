"""Every webhook change reaches the compacted topic hookline.endpoints, whole, with a growing version."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hookline import topics, webhooks
from hookline.settings import Settings
from tests.integration.api.conftest import WEBHOOK, JwksServer, Tenant, read_topic

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def test_create_update_rotate_disable_and_delete_are_published(
    client: Client, tenant: Tenant, api_settings: Settings
) -> None:
    created = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()
    path = f"/v1/webhooks/{created['id']}"
    await client.patch(path, json={"events": ["member.*"]}, headers=tenant.manage)
    await client.post(f"{path}/rotate-secret", headers=tenant.manage)
    await client.patch(path, json={"active": False}, headers=tenant.manage)
    assert (await client.delete(path, headers=tenant.manage)).status_code == 204
    values = await read_topic(api_settings.kafka_bootstrap, topics.ENDPOINTS, created["id"], 5)
    assert values[-1] is None  # the tombstone
    configs = [webhooks.decode_config(v) for v in values[:-1]]
    assert all(c is not None for c in configs)
    versions = [c.version for c in configs if c]
    assert versions == [1, 2, 3, 4]
    first, updated, rotated, disabled = (c for c in configs if c)
    assert (first.url, first.events, first.organization_id, first.owner) == (
        WEBHOOK["url"],
        ["member.added"],
        tenant.org_id,
        "dashboard",
    )
    assert updated.events == ["member.*"] and len(updated.signing_keys) == 1
    assert len(rotated.signing_keys) == 2 and rotated.signing_keys[1].expires_at is not None
    assert (disabled.active, disabled.status, disabled.status_reason) == (False, "disabled", "disabled by the caller")
    # The config carries sealed keys only.
    assert created["signing_secret"] not in str(values)


async def test_a_client_owned_webhook_is_published_with_its_owner(
    client: Client, tenant: Tenant, jwks_server: JwksServer, api_settings: Settings
) -> None:
    token = jwks_server.token(org=tenant.org_id, client_id="app-feed", scope="webhooks.manage")
    created = await client.post("/v1/webhooks", json=WEBHOOK, headers={"Authorization": f"Bearer {token}"})
    [value] = await read_topic(api_settings.kafka_bootstrap, topics.ENDPOINTS, created.json()["id"], 1)
    config = webhooks.decode_config(value)
    assert config is not None and config.owner == "client:app-feed"
