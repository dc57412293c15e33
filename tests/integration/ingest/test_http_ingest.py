"""`POST /v1/events` and `/v1/events/batch`: accepted events reach exactly the matching webhooks' queues."""

from __future__ import annotations

import asyncio

import pytest

from hookline import documents, ids
from tests.integration.ingest.pipeline import (
    Pipeline,
    add_event_type,
    add_webhook,
    new_api_key,
    new_org,
    targets,
)

pytestmark = pytest.mark.integration


async def test_an_event_posted_over_http_reaches_exactly_the_matching_webhooks(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    await add_event_type(pipe.db, org, "member.added")
    await add_event_type(pipe.db, org, "invoice.paid")
    exact = await add_webhook(pipe.db, pipe.producer, org, ["member.added"])
    prefix = await add_webhook(pipe.db, pipe.producer, org, ["member.*"])
    everything = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    await add_webhook(pipe.db, pipe.producer, org, ["invoice.paid"])
    await add_webhook(pipe.db, pipe.producer, org, ["member.added"], active=False)
    await add_webhook(pipe.db, pipe.producer, org, ["*"], status="disabled")
    session = await add_webhook(pipe.db, pipe.producer, org, ["*"], session_id="sess-1")
    other_org = await new_org(pipe.db)
    await add_webhook(pipe.db, pipe.producer, other_org, ["*"])
    mark = await pipe.mark()

    plain = await pipe.http.post(
        "/v1/events", json={"type": "member.added", "data": {"n": 1}}, headers={"Authorization": f"Bearer {key}"}
    )
    scoped = await pipe.http.post(
        "/v1/events",
        json={"type": "member.added", "organization_id": org, "session_id": "sess-1", "data": {"n": 2}},
        headers={"Authorization": f"AccessKey {key}"},
    )

    assert plain.status_code == 202, plain.text
    assert scoped.status_code == 202, scoped.text
    plain_id, scoped_id = plain.json()["id"], scoped.json()["id"]
    assert ids.has_prefix(plain_id, "evt") and plain.json() == {"id": plain_id}
    tasks = await pipe.deliveries_since(mark, org)
    assert targets(tasks, plain_id) == {exact.id, prefix.id, everything.id}
    assert targets(tasks, scoped_id) == {exact.id, prefix.id, everything.id, session.id}
    assert len(tasks) == 7
    task = next(t for t in tasks if t.event.id == plain_id and t.webhook_id == exact.id)
    assert (task.attempt, task.reason, task.organization_id) == (1, "event", org)
    assert task.event.data == {"n": 1} and task.event.type == "member.added"
    assert task.delivery_id == ids.derived_id("dlv", at=task.event.created_at, seed=f"{plain_id}:{exact.id}")
    stored = await pipe.db[documents.EVENTS].find_one({"_id": plain_id})
    assert stored is not None and stored["organization_id"] == org and stored["expires_at"] > stored["created_at"]


async def test_a_batch_answers_per_event_and_delivers_the_accepted_ones(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    await add_event_type(pipe.db, org, "order.placed", {"type": "object", "required": ["total"]})
    hook = await add_webhook(pipe.db, pipe.producer, org, ["order.*"])
    mark = await pipe.mark()

    response = await pipe.http.post(
        "/v1/events/batch",
        json={
            "events": [
                {"type": "order.placed", "data": {"total": 1}},
                {"type": "order.unknown", "data": {}},
                {"type": "order.placed", "data": {"wrong": True}},
                {"type": "order.placed", "data": {"total": 2}, "id": "p-1"},
                "not an event",
                {"type": "order.placed", "data": {"total": 3}, "organization_id": "org_someoneelse"},
            ]
        },
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 202, response.text
    body = response.json()
    results = body["results"]
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert results[1]["error"]["details"]["reason"] == "unknown_type"
    assert results[2]["error"]["details"]["reason"] == "schema_mismatch"
    assert results[4]["error"]["details"]["reason"] == "invalid_envelope"
    assert results[5]["error"]["code"] == "forbidden"
    accepted = {results[0]["id"], results[3]["id"]}
    tasks = await pipe.deliveries_since(mark, org)
    assert {t.event.id for t in tasks} == accepted
    assert {t.webhook_id for t in tasks} == {hook.id}
    assert len(tasks) == 2


async def test_a_producer_id_posted_twice_is_accepted_once(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    auth = {"Authorization": f"Bearer {key}"}
    mark = await pipe.mark()

    first = await pipe.http.post("/v1/events", json={"id": "p-1", "type": "webhook.test", "data": {}}, headers=auth)
    again = await pipe.http.post("/v1/events", json={"id": "p-1", "type": "webhook.test", "data": {}}, headers=auth)
    racing = await asyncio.gather(
        *(
            pipe.http.post("/v1/events", json={"id": "p-2", "type": "webhook.test", "data": {}}, headers=auth)
            for _ in range(2)
        )
    )

    assert first.status_code == again.status_code == 202
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert [r.status_code for r in racing] == [202, 202]
    assert racing[0].json()["id"] == racing[1].json()["id"]
    assert sorted(bool(r.json().get("duplicate")) for r in racing) == [False, True]
    tasks = await pipe.deliveries_since(mark, org)
    assert sorted(t.event.id for t in tasks) == sorted([first.json()["id"], racing[0].json()["id"]])
    assert {t.webhook_id for t in tasks} == {hook.id}


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, b'{"type": "webhook.test", "data": {}}', 401, "unauthorized"),
        ({"Authorization": "Bearer hl_live_" + "x" * 40}, b'{"type": "webhook.test", "data": {}}', 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, b'{"type": "webhook.test", "data": {}}', 401, "unauthorized"),
        (None, b"{not json", 400, "validation_error"),
        (None, b'{"type": "webhook.test"}', 422, "validation_error"),
        (None, b'{"type": "webhook.test", "data": {}, "extra": 1}', 422, "validation_error"),
        (None, b'{"type": "no.such.type", "data": {}}', 422, "validation_error"),
        (None, b'{"type": "webhook.test", "data": {}, "organization_id": "org_other"}', 403, "forbidden"),
        (None, b'{"events": []}', 422, "validation_error"),
    ],
)
async def test_refused_requests_get_the_error_envelope(
    pipe: Pipeline, headers: dict[str, str] | None, body: bytes, status: int, code: str
) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    path = "/v1/events/batch" if body.startswith(b'{"events"') else "/v1/events"
    sent = {"Authorization": f"Bearer {key}"} if headers is None else headers

    response = await pipe.http.post(path, content=body, headers={"Content-Type": "application/json", **sent})

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and isinstance(error["details"], dict)
    assert "Traceback" not in response.text and key not in response.text


async def test_a_key_without_the_publish_scope_is_forbidden(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org, scopes=["webhooks.manage"])

    response = await pipe.http.post(
        "/v1/events", json={"type": "webhook.test", "data": {}}, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_an_event_over_256_kib_is_refused_with_422(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    big = {"type": "webhook.test", "data": {"blob": "x" * (256 * 1024)}}
    auth = {"Authorization": f"Bearer {key}"}

    single = await pipe.http.post("/v1/events", json=big, headers=auth)
    batch = await pipe.http.post("/v1/events/batch", json={"events": [big]}, headers=auth)

    assert single.status_code == 422
    assert single.json()["error"]["details"]["reason"] == "too_large"
    assert batch.json()["results"][0]["error"]["details"]["reason"] == "too_large"


async def test_a_batch_of_more_than_500_events_is_refused(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    events = [{"type": "webhook.test", "data": {}}] * 501

    response = await pipe.http.post(
        "/v1/events/batch", json={"events": events}, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
