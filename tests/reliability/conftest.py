"""Per scenario: a fresh database, a fresh platform (the four services as processes, two dispatchers), a receiver,
a tenant.

A database of its own per scenario: FerretDB answers queries on fields other than `_id` by scanning, so on a
shared database every scenario would run slower than the one before it, on the documents of all of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from hookline_cli.infra.stack import Stack, prepare
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability.workload import Tenant, make_tenant
from tests.servers import TEST_STATE, Servers, test_database_url, throwaway_database

SECOND_DISPATCHER = "dispatcher-2"


@pytest.fixture
def scenario_servers(servers: Servers) -> Servers:
    """The session's Kafka and MongoDB-wire server, with a database of the scenario's own."""
    own = dataclasses.replace(servers, mongo_url=test_database_url(servers.mongo_url))
    asyncio.run(prepare(own.kafka_bootstrap, own.mongo_url))
    return own


@pytest.fixture
async def db(scenario_servers: Servers) -> AsyncIterator[AsyncDatabase[Document]]:
    async with throwaway_database(scenario_servers.mongo_url) as database:
        yield database


@pytest.fixture
def platform(
    scenario_servers: Servers, db: AsyncDatabase[Document], request: pytest.FixtureRequest
) -> Iterator[Platform]:
    """Depends on `db` so that the services stop before their database is dropped."""
    running = Platform(scenario_servers, log_dir=Path(TEST_STATE) / "logs" / "reliability" / request.node.name)
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
