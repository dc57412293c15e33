"""SSRF protection at delivery time: non-public targets are refused and recorded as `blocked_target`."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from hookline.public_url import check_url
from hookline_dispatcher.connection_pools import ConnectionPools
from hookline_dispatcher.http1_connection import Response
from hookline_dispatcher.sender import request_head
from tests.integration.dispatcher.conftest import EngineFactory, RunningEngine, deliver_once
from tests.integration.dispatcher.receivers import ReceiverHub

pytestmark = pytest.mark.integration


class ConnectionCounter:
    def __init__(self) -> None:
        self.connections = 0
        self.port = 0


@pytest.fixture(scope="module")
async def listener() -> AsyncIterator[ConnectionCounter]:
    """A TCP listener on loopback that counts connections: a refused target must never reach it."""
    counter = ConnectionCounter()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counter.connections += 1
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    counter.port = server.sockets[0].getsockname()[1]
    try:
        yield counter
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="module")
async def guarded(start_engine: EngineFactory) -> RunningEngine:
    return await start_engine(allow_private_targets=False)


def loopback_hostname() -> str | None:
    """This machine's own name when it resolves to loopback only (a name, not `localhost`, that means 127.0.0.1)."""
    name = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
    except OSError:
        return None
    return name if addresses and all(a.startswith("127.") or a == "::1" for a in addresses) else None


TARGETS = [
    "https://localhost:{port}/hook",
    "https://127.0.0.1:{port}/hook",
    "https://2130706433:{port}/hook",
    "https://[::1]:{port}/hook",
    "https://10.1.2.3:{port}/hook",
    "https://169.254.169.254/latest/meta-data",
    "http://example.com:{port}/hook",
]


@pytest.mark.parametrize("template", TARGETS)
async def test_non_public_targets_are_refused_at_delivery_time(
    guarded: RunningEngine,
    listener: ConnectionCounter,
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    template: str,
) -> None:
    attempt = await deliver_once(guarded, db, producer, template.format(port=listener.port))
    assert (attempt["status"], attempt["error"], attempt["status_code"]) == ("failed", "blocked_target", None)
    assert listener.connections == 0


async def test_a_host_name_that_resolves_to_loopback_is_refused(
    guarded: RunningEngine, listener: ConnectionCounter, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    name = loopback_hostname()
    if name is None:
        pytest.skip("this machine's host name does not resolve to loopback")
    attempt = await deliver_once(guarded, db, producer, f"https://{name}:{listener.port}/hook")
    assert attempt["error"] == "blocked_target"
    assert listener.connections == 0


async def test_a_name_that_does_not_resolve_is_recorded_as_dns(
    guarded: RunningEngine, db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    attempt = await deliver_once(guarded, db, producer, "https://no-such-host.invalid/hook")
    assert attempt["error"] == "dns"


async def test_connections_go_to_the_checked_address_with_the_name_kept_in_host(hub: ReceiverHub) -> None:
    route = hub.add()
    pools = ConnectionPools(max_connections=4, ssl_context=ssl.create_default_context())

    async def post(url: str) -> Response:
        target = check_url(url, allow_private=True)
        head = request_head(target, {}, 2)
        return await pools.request(("k", target.scheme, target.host, target.port), ["127.0.0.1"], head, b"{}", 4096)

    try:
        # The name does not resolve at all: only the checked address can take the connection to the receiver.
        response = await post(f"http://hook.example.invalid:{hub.port}/r/{route.name}")
        assert response.status_code == 200
    finally:
        await pools.aclose()
    [request] = route.received
    assert request.headers["host"] == f"hook.example.invalid:{hub.port}"
