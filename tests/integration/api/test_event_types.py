"""Event types: the organization's own, the global catalogue, and `webhook.test`."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.api.conftest import WEBHOOK, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
SCHEMA = {"type": "object", "properties": {"user_id": {"type": "string"}}, "required": ["user_id"]}


async def test_the_list_has_the_catalogue_and_webhook_test(client: Client, tenant: Tenant) -> None:
    response = await client.get("/v1/event-types", headers=tenant.read)
    assert response.status_code == 200
    names = {t["name"]: t["source"] for t in response.json()["data"]}
    assert names == {
        "webhook.test": "catalogue",
        "member.added": "catalogue",
        "member.removed": "catalogue",
        "invoice.paid": "catalogue",
    }


async def test_registering_a_type_makes_it_subscribable_in_that_organization_only(
    client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/event-types",
        json={"name": "user.signed_up", "description": "A user signed up.", "schema": SCHEMA},
        headers=tenant.manage,
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": "user.signed_up",
        "description": "A user signed up.",
        "schema": SCHEMA,
        "source": "organization",
    }
    listed = (await client.get("/v1/event-types", headers=tenant.read)).json()["data"]
    assert "user.signed_up" in [t["name"] for t in listed]
    subscribe = {**WEBHOOK, "events": ["user.signed_up"]}
    assert (await client.post("/v1/webhooks", json=subscribe, headers=tenant.manage)).status_code == 201
    elsewhere = await client.post("/v1/webhooks", json=subscribe, headers=other_tenant.manage)
    assert elsewhere.status_code == 422
    other_list = (await client.get("/v1/event-types", headers=other_tenant.read)).json()["data"]
    assert "user.signed_up" not in [t["name"] for t in other_list]
    # Another organization may register the same name for itself.
    assert (
        await client.post("/v1/event-types", json={"name": "user.signed_up"}, headers=other_tenant.manage)
    ).status_code == 201


async def test_an_existing_name_is_a_conflict(client: Client, tenant: Tenant) -> None:
    assert (
        await client.post("/v1/event-types", json={"name": "order.placed"}, headers=tenant.manage)
    ).status_code == 201
    for name in ("order.placed", "member.added", "webhook.test"):
        response = await client.post("/v1/event-types", json={"name": name}, headers=tenant.manage)
        assert response.status_code == 409, name
        assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": ".leading"}, "name"),
        ({"name": "a" * 129}, "name"),
        ({"name": "ok.name", "schema": {"type": "not-a-type"}}, "schema"),
        ({"name": "ok.name", "schema": {"minimum": "ten"}}, "schema"),
        ({"name": "ok.name", "description": "d" * 501}, "description"),
        ({"name": "ok.name", "colour": "red"}, "colour"),
        ({}, "name"),
    ],
)
async def test_bad_event_types_are_refused(client: Client, tenant: Tenant, body: dict[str, object], field: str) -> None:
    response = await client.post("/v1/event-types", json=body, headers=tenant.manage)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]


async def test_registering_needs_the_manage_scope(client: Client, tenant: Tenant) -> None:
    assert (await client.post("/v1/event-types", json={"name": "a.b"}, headers=tenant.read)).status_code == 403
