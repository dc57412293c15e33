"""The load every scenario runs under: one organization, 5 webhooks, 5,000 events published at a steady pace.

Nine events in ten go to `hookline.ingest` through Kafka, one in ten to `POST /v1/events/batch`. Every event
carries a producer id (`id`), so a publish retried after an outage is deduplicated by event-ingest, as a real
producer's retry would be; a failed publish (broker down, 5xx) is retried until it is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
import msgspec
from aiokafka import AIOKafkaProducer

from hookline import topics
from hookline.messages import ProducerEvent
from tests.platform import Platform
from tests.receiver import Receiver

EVENTS = 5_000
WEBHOOKS = 5
EVENT_TYPE = "reliability.tick"
CHUNK = 50  # events per tick: 45 over Kafka, 5 over HTTP
HTTP_SHARE = 10  # one event in HTTP_SHARE goes over HTTP
TICK_SECONDS = 0.5  # 100 events/s, 500 deliveries/s offered
RETRY_SECONDS = 1.0
# Longest one publish to Kafka may take before the producer is replaced and the events sent again: a producer
# whose sender task has ended (aiokafka's idempotent one did, after a 60 s outage) returns futures that never
# resolve. The producer is not idempotent, like the services' (see `hookline.kafka.producer_options`).
KAFKA_PUBLISH_TIMEOUT = 60.0


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    api_key: str
    secrets: dict[str, str]  # receiver path -> signing secret


def hookline_cli(platform: Platform, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hookline_cli.main", *args], env=platform.env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def make_tenant(platform: Platform, receiver: Receiver, name: str) -> Tenant:
    """An organization and key made with the `hookline` command, 5 webhooks made through the API."""
    org = hookline_cli(platform, "org", "create", f"reliability-{name}")
    key = hookline_cli(platform, "api-key", "create", "--org", org, "--scopes", "webhooks.manage,events.publish")
    secrets: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=platform.url("subscription-api"), headers=headers, timeout=30) as api:
        created = await api.post("/v1/event-types", json={"name": EVENT_TYPE, "description": "reliability load"})
        assert created.status_code == 201, created.text
        for n in range(WEBHOOKS):
            path = f"/{name}/w{n}"
            answer = await api.post("/v1/webhooks", json={"url": receiver.url(path), "events": [EVENT_TYPE]})
            assert answer.status_code == 201, answer.text
            secrets[path] = answer.json()["signing_secret"]
    return Tenant(org, key, secrets)


def producer_event(tenant: Tenant, scenario: str, seq: int) -> ProducerEvent:
    return ProducerEvent(
        id=f"{scenario}-{seq}", type=EVENT_TYPE, organization_id=tenant.organization_id, data={"seq": seq}
    )


@dataclass
class Publisher:
    platform: Platform
    tenant: Tenant
    scenario: str
    events: int = EVENTS
    published: int = 0
    kafka_retries: int = 0
    http_retries: int = 0
    _producer: AIOKafkaProducer = field(init=False, repr=False)

    async def run(self) -> None:
        self._producer = await self._new_producer()
        headers = {"Authorization": f"Bearer {self.tenant.api_key}"}
        try:
            async with httpx.AsyncClient(
                base_url=self.platform.url("event-ingest"), headers=headers, timeout=30
            ) as ingest:
                for start in range(0, self.events, CHUNK):
                    tick = time.monotonic()
                    chunk = [producer_event(self.tenant, self.scenario, s) for s in range(start, start + CHUNK)]
                    over_http = [e for e in chunk if (e.data["seq"] or 0) % HTTP_SHARE == 0]
                    over_kafka = [e for e in chunk if e not in over_http]
                    await asyncio.gather(self._to_kafka(over_kafka), self._to_http(ingest, over_http))
                    self.published += len(chunk)
                    await asyncio.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - tick)))
        finally:
            await self._producer.stop()

    async def _new_producer(self) -> AIOKafkaProducer:
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.platform.servers.kafka_bootstrap, acks="all", enable_idempotence=False
            )
            try:
                await producer.start()
                return producer
            except Exception as exc:  # broker away at start: a fresh producer next time, this one is closed
                print(f"starting a Kafka producer failed ({type(exc).__name__}); retrying")
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(RETRY_SECONDS)

    async def _to_kafka(self, events: list[ProducerEvent]) -> None:
        key = self.tenant.organization_id.encode()
        while True:
            try:
                async with asyncio.timeout(KAFKA_PUBLISH_TIMEOUT):
                    producer = self._producer
                    futures = [await producer.send(topics.INGEST, msgspec.json.encode(e), key=key) for e in events]
                    await asyncio.gather(*futures)
                return
            except TimeoutError:
                # Sent again by a new producer: the events keep their ids, so event-ingest drops any copy.
                self.kafka_retries += 1
                print(f"publish to Kafka unanswered for {KAFKA_PUBLISH_TIMEOUT:.0f}s; replacing the producer")
                stale, self._producer = self._producer, await self._new_producer()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await stale.stop()
            except Exception as exc:  # broker away: the same events again, deduplicated by their ids
                self.kafka_retries += 1
                print(f"publish to Kafka failed ({type(exc).__name__}); retrying")
                await asyncio.sleep(RETRY_SECONDS)

    async def _to_http(self, ingest: httpx.AsyncClient, events: list[ProducerEvent]) -> None:
        body = {"events": [msgspec.to_builtins(e) for e in events]}
        while True:
            try:
                answer = await ingest.post("/v1/events/batch", json=body)
                if answer.status_code == 202:
                    results = answer.json()
                    assert all("id" in r for r in results["results"]), results
                    return
                assert answer.status_code >= 500, answer.text
            except httpx.TransportError:
                pass
            self.http_retries += 1
            await asyncio.sleep(RETRY_SECONDS)
