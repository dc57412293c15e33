"""The error envelope everywhere, health and readiness, metrics, and the OpenAPI document."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.ids import new_id
from hookline.mongo import Document
from tests.integration.api.conftest import Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def assert_envelope(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]


async def test_an_unknown_route_is_a_404_envelope(client: Client, tenant: Tenant) -> None:
    for path in ("/nope", "/v1/nothing-here", "/v1/webhooks/wh_1/unknown"):
        response = await client.get(path, headers=tenant.read)
        assert response.status_code == 404, path
        assert_envelope(response.json(), "not_found")


async def test_a_wrong_method_is_a_405_envelope(client: Client, tenant: Tenant) -> None:
    response = await client.put("/v1/webhooks", json={}, headers=tenant.manage)
    assert response.status_code == 405
    assert_envelope(response.json(), "method_not_allowed")


async def test_an_unexpected_failure_is_a_500_with_a_request_id_and_nothing_else(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    broken = new_id("wh")
    # A record no code path writes: a URL that is not a string makes decoding it fail deep inside.
    await db[documents.WEBHOOKS].insert_one(
        {"_id": broken, "organization_id": tenant.org_id, "owner": "dashboard", "url": 12, "events": "x"}
    )
    response = await client.get(f"/v1/webhooks/{broken}", headers=tenant.read)
    assert response.status_code == 500
    body = response.json()
    assert_envelope(body, "internal_error")
    assert body["error"]["details"]["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and "msgspec" not in response.text and "url" not in response.text


async def test_health_readiness_and_metrics_answer(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"mongo": True, "kafka": True}
    assert (await client.get(f"/v1/webhooks/{new_id('wh')}")).status_code == 401
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "python_info" in metrics.text
    # Requests are counted by route template, never by raw path (ids would make a series each).
    counted = [line for line in metrics.text.splitlines() if line.startswith("hookline_api_requests_total{")]
    assert any('route="/v1/webhooks/{webhook_id}"' in line and 'status="401"' in line for line in counted), counted
    assert not any("wh_" in line for line in metrics.text.splitlines())
    assert "hookline_api_request_duration_seconds_bucket" in metrics.text


async def test_the_openapi_document_lists_every_route_with_examples(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/v1/webhooks": {"get", "post"},
        "/v1/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/v1/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/v1/webhooks/{webhook_id}/test": {"post"},
        "/v1/webhooks/{webhook_id}/attempts": {"get"},
        "/v1/webhooks/{webhook_id}/replay": {"post"},
        "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post"},
        "/v1/event-types": {"get", "post"},
        "/v1/events/{event_id}": {"get"},
        "/.well-known/jwks.json": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        org_path = "/v1/organizations/{organization_id}" + path.removeprefix("/v1")
        if path.startswith("/v1/"):
            assert methods <= set(paths[org_path]), org_path
    create = paths["/v1/webhooks"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    error_example = create["responses"]["422"]["content"]["application/json"]["examples"]
    assert any(e["value"]["error"]["code"] == "validation_error" for e in error_example.values())
    webhook_in = schema["components"]["schemas"]["WebhookIn"]
    assert webhook_in["properties"]["url"]["maxLength"] == 2048
    assert webhook_in["properties"]["url"]["examples"]
