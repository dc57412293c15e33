"""Session-wide fixtures: the real Kafka and MongoDB-wire servers, started once and shared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.servers import Servers, start_servers, throwaway_database


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with start_servers() as running:
        yield running


@pytest.fixture(scope="session")
async def db(servers: Servers) -> AsyncIterator[AsyncDatabase[Document]]:
    async with throwaway_database(servers.mongo_url) as database:
        yield database
