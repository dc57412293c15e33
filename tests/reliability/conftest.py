"""Per scenario: a fresh platform (the four services as processes, two dispatchers), a receiver, a tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hookline_cli.infra.stack import Stack
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability.workload import Tenant, make_tenant
from tests.servers import TEST_STATE, Servers

SECOND_DISPATCHER = "dispatcher-2"


@pytest.fixture
def platform(servers: Servers, request: pytest.FixtureRequest) -> Iterator[Platform]:
    running = Platform(servers, log_dir=Path(TEST_STATE) / "logs" / "reliability" / request.node.name)
    try:
        running.start_all()
        running.start(SECOND_DISPATCHER, service="dispatcher")
        running.wait_ready(SECOND_DISPATCHER)
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> str:
    """The scenario's name: the parametrization id, else the test's name without `test_`."""
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.id) if callspec is not None else str(request.node.originalname).removeprefix("test_")


@pytest.fixture
async def tenant(platform: Platform, receiver: Receiver, scenario: str) -> AsyncIterator[Tenant]:
    yield await make_tenant(platform, receiver, scenario)


@pytest.fixture
def stack(servers: Servers) -> Stack:
    if servers.stack is None:
        pytest.skip("stopping Kafka or MongoDB needs the local servers (HOOKLINE_INFRA=local)")
    return servers.stack
