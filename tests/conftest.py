"""Session-wide fixtures: the real Kafka and MongoDB-wire servers, started once and shared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline import mongo
from hookline.mongo import Document
from tests.servers import Servers, start_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with start_servers() as running:
        yield running


@pytest.fixture(scope="session")
async def db(servers: Servers) -> AsyncIterator[AsyncDatabase[Document]]:
    client = mongo.connect(servers.mongo_url)
    try:
        yield mongo.database(client)
    finally:
        await client.drop_database(mongo.database(client).name)
        await client.close()
