"""The whole platform as users run it: four processes, real Kafka and MongoDB, a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.platform import Platform
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tenant(platform: Platform) -> tuple[str, str]:
    """(organization id, API key) made with the `hookline` command, as a newcomer would."""

    def hookline(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hookline_cli.main", *args], env=platform.env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    org = hookline("org", "create", "e2e")
    key = hookline("api-key", "create", "--org", org, "--scopes", "webhooks.manage,webhooks.read,events.publish")
    return org, key


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


def verified(received: list, secret: str) -> list[dict]:  # type: ignore[type-arg]
    checker = StandardWebhook(secret)
    return [checker.verify(r.body, r.headers) for r in received]


async def test_events_from_kafka_and_http_reach_the_receiver_signed_and_are_recorded(
    platform: Platform, tenant: tuple[str, str], receiver: Receiver
) -> None:
    org, api_key = tenant
    auth = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=platform.url("subscription-api"), headers=auth, timeout=30) as api:
        created_type = await api.post("/v1/event-types", json={"name": "member.added", "description": "joined"})
        assert created_type.status_code in (201, 409), created_type.text
        created = await api.post("/v1/webhooks", json={"url": receiver.url("/a"), "events": ["member.*"]})
        assert created.status_code == 201, created.text
        webhook = created.json()

        async with httpx.AsyncClient(base_url=platform.url("event-ingest"), headers=auth, timeout=30) as ingest:
            over_http = await ingest.post("/v1/events", json={"type": "member.added", "data": {"n": 1}})
            assert over_http.status_code == 202, over_http.text

        publish = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookline_cli.main",
            "events",
            "publish",
            "--org",
            org,
            "--type",
            "member.added",
            "--data",
            json.dumps({"n": 2}),
            "--id",
            "producer-2",
            env=platform.env(),
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await publish.communicate()
        assert publish.returncode == 0, stderr.decode()

        got = await receiver.wait_for(2, "/a", timeout=90)
        payloads = verified(got, webhook["signing_secret"])
        assert sorted(p["data"]["n"] for p in payloads) == [1, 2]
        assert {p["type"] for p in payloads} == {"member.added"}

        async def attempts_recorded() -> list[dict[str, object]]:
            while True:
                listed: list[dict[str, object]] = (await api.get(f"/v1/webhooks/{webhook['id']}/attempts")).json()[
                    "data"
                ]
                if len(listed) >= 2:
                    return listed
                await asyncio.sleep(0.2)

        attempts = await asyncio.wait_for(attempts_recorded(), 30)
        assert {a["status"] for a in attempts} == {"succeeded"}
        assert {a["status_code"] for a in attempts} == {200}

        tested = await api.post(f"/v1/webhooks/{webhook['id']}/test")
        assert tested.status_code in (200, 202), tested.text
        test_delivery = (await receiver.wait_for(3, "/a", timeout=60))[-1]
        assert verified([test_delivery], webhook["signing_secret"])[0]["type"] == "webhook.test"


async def test_replay_all_brings_a_webhook_the_events_it_missed_while_disabled(
    platform: Platform, tenant: tuple[str, str], receiver: Receiver
) -> None:
    _, api_key = tenant
    auth = {"Authorization": f"Bearer {api_key}"}
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    async with (
        httpx.AsyncClient(base_url=platform.url("subscription-api"), headers=auth, timeout=30) as api,
        httpx.AsyncClient(base_url=platform.url("event-ingest"), headers=auth, timeout=30) as ingest,
    ):
        await api.post("/v1/event-types", json={"name": "member.added", "description": "joined"})
        created = (await api.post("/v1/webhooks", json={"url": receiver.url("/b"), "events": ["*"]})).json()
        disabled = await api.patch(f"/v1/webhooks/{created['id']}", json={"active": False})
        assert disabled.status_code == 200, disabled.text
        missed = await ingest.post("/v1/events", json={"type": "member.added", "data": {"missed": True}})
        assert missed.status_code == 202, missed.text
        missed_id = missed.json()["id"]

        async def stored() -> None:
            while (await api.get(f"/v1/events/{missed_id}")).status_code != 200:
                await asyncio.sleep(0.2)

        await asyncio.wait_for(stored(), 30)
        assert receiver.received("/b") == []
        enabled = await api.patch(f"/v1/webhooks/{created['id']}", json={"active": True})
        assert enabled.status_code == 200, enabled.text
        until = (datetime.now(UTC) + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
        replay = await api.post(
            f"/v1/webhooks/{created['id']}/replay", json={"since": since, "until": until, "status": "all"}
        )
        assert replay.status_code in (200, 202), replay.text

        # The window may hold the organization's earlier events too; all of them match "*" and come again.
        async def missed_event_arrived() -> dict[str, object]:
            while True:
                for payload in verified(receiver.received("/b"), created["signing_secret"]):
                    if payload["id"] == missed_id:
                        return payload
                await asyncio.sleep(0.1)

        payload = await asyncio.wait_for(missed_event_arrived(), 60)
        assert payload["data"] == {"missed": True}
