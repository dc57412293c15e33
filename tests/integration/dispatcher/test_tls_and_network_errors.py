"""HTTPS deliveries to real TLS receivers on loopback, and how failures without a response are recorded.

The receivers' certificates come from a CA made in the test. The module's default engine trusts only the system
store, so that CA is unknown to it; the `trusting` engine adds the CA with `extra_ca_file`
(HOOKLINE_EXTRA_CA_FILE), the way an operator adds a private CA.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase
from standardwebhooks.webhooks import Webhook as StandardWebhook

from hookline import delivery_status, documents
from hookline.mongo import Document
from tests.integration.dispatcher.certificates import CertificateFiles, TestAuthority
from tests.integration.dispatcher.conftest import EngineFactory, RunningEngine, deliver_once, wait_until
from tests.integration.dispatcher.receivers import Received, ReceiverHub, Reply, Route, start_hub
from tests.integration.dispatcher.seeding import create_webhook, make_task

pytestmark = pytest.mark.integration

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> TestAuthority:
    return TestAuthority(Path(tmp_path_factory.mktemp("pki")))


@contextlib.asynccontextmanager
async def https_receiver(files: CertificateFiles) -> AsyncIterator[ReceiverHub]:
    running = await start_hub(certfile=files.certfile, keyfile=files.keyfile)
    try:
        yield running.hub
    finally:
        await running.close()


@pytest.fixture(scope="module")
async def https_hub(authority: TestAuthority) -> AsyncIterator[ReceiverHub]:
    """An HTTPS receiver whose certificate names `localhost` only (no IP address)."""
    async with https_receiver(authority.issue("localhost", dns_names=["localhost"])) as hub:
        yield hub


@pytest.fixture(scope="module")
async def expired_hub(authority: TestAuthority) -> AsyncIterator[ReceiverHub]:
    now = datetime.now(UTC)
    files = authority.issue(
        "expired", dns_names=["localhost"], valid_from=now - timedelta(days=10), valid_until=now - timedelta(days=1)
    )
    async with https_receiver(files) as hub:
        yield hub


@pytest.fixture(scope="module")
async def trusting(start_engine: EngineFactory, authority: TestAuthority) -> RunningEngine:
    return await start_engine(extra_ca_file=authority.ca_file, timeout=TIMEOUT)


def on_localhost(route: Route) -> str:
    return route.url.replace("127.0.0.1", "localhost", 1)


async def test_an_https_delivery_to_a_receiver_with_a_trusted_certificate_succeeds(
    trusting: RunningEngine, https_hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = https_hub.add()
    webhook, secret = await create_webhook(db, producer, on_localhost(route))
    task = make_task(webhook)
    await trusting.send(task)
    [request] = await route.wait_for(1)
    payload = StandardWebhook(secret).verify(request.body, request.headers)
    assert payload["id"] == task.event.id == request.headers["webhook-id"]

    async def succeeded() -> bool:
        found = await delivery_status.find(db, task.delivery_id)
        return found is not None and found.status == "succeeded"

    await wait_until(succeeded, what="the HTTPS delivery to show succeeded")
    [attempt] = await db[documents.ATTEMPTS].find({"delivery_id": task.delivery_id}).to_list(None)
    assert (attempt["status"], attempt["status_code"], attempt["error"]) == ("succeeded", 200, None)


async def test_a_certificate_from_an_unknown_ca_is_recorded_as_tls(
    dispatcher: RunningEngine, https_hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = https_hub.add()
    attempt = await deliver_once(dispatcher, db, producer, on_localhost(route))
    assert (attempt["status"], attempt["status_code"], attempt["error"]) == ("failed", None, "tls")
    assert route.received == []


async def test_a_certificate_for_another_name_is_recorded_as_tls(
    trusting: RunningEngine, https_hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = https_hub.add()  # https://127.0.0.1:…, and the certificate names only `localhost`
    attempt = await deliver_once(trusting, db, producer, route.url)
    assert (attempt["status_code"], attempt["error"]) == (None, "tls")
    assert route.received == []


async def test_an_expired_certificate_is_recorded_as_tls(
    trusting: RunningEngine, expired_hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = expired_hub.add()
    attempt = await deliver_once(trusting, db, producer, on_localhost(route))
    assert (attempt["status_code"], attempt["error"]) == (None, "tls")
    assert route.received == []


async def test_https_to_a_plain_http_server_is_recorded_as_tls(
    trusting: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    route = hub.add()
    attempt = await deliver_once(trusting, db, producer, route.url.replace("http://", "https://", 1))
    assert (attempt["status_code"], attempt["error"]) == (None, "tls")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed), so a connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_refused_connection_is_recorded_as_connect(
    trusting: RunningEngine, db: AsyncDatabase[Document], producer: AIOKafkaProducer, scheme: str
) -> None:
    attempt = await deliver_once(trusting, db, producer, f"{scheme}://127.0.0.1:{closed_port()}/hook")
    assert (attempt["status"], attempt["status_code"], attempt["error"]) == ("failed", None, "connect")


async def test_a_receiver_answering_after_the_timeout_is_recorded_as_timeout(
    trusting: RunningEngine, hub: ReceiverHub, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    release = asyncio.Event()

    async def hold(route: Route, request: Received) -> Reply:
        await release.wait()
        return 200, {}, b"too late"

    route = hub.add(hold)
    try:
        attempt = await deliver_once(trusting, db, producer, route.url)
    finally:
        release.set()
    assert (attempt["status_code"], attempt["error"]) == (None, "timeout")
    assert attempt["latency_ms"] >= TIMEOUT * 1000 * 0.9
    assert len(route.received) == 1


async def test_a_tls_handshake_that_never_completes_is_recorded_as_timeout(
    trusting: RunningEngine, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # holds the connection open and never answers the ClientHello

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        attempt = await deliver_once(trusting, db, producer, f"https://localhost:{port}/hook")
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    assert (attempt["status_code"], attempt["error"]) == (None, "timeout")
    assert accepted


async def test_a_name_that_does_not_resolve_is_recorded_as_dns_with_private_targets_allowed(
    trusting: RunningEngine, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    # The SSRF-guarded path resolves before connecting (test_ssrf.py); this one lets the connection resolve.
    attempt = await deliver_once(trusting, db, producer, "https://no-such-host.invalid/hook")
    assert (attempt["status_code"], attempt["error"]) == (None, "dns")
