"""The pipeline (ingest and fan-out in-process) shared by this package's tests; each test uses its own org."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.integration.ingest.pipeline import Pipeline, pipeline
from tests.servers import Servers


async def create_topic(servers: Servers, name: str, partitions: int = 3) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


@pytest.fixture(scope="package")
async def pipe(servers: Servers, db: AsyncDatabase[Document]) -> AsyncIterator[Pipeline]:
    extra = await create_topic(servers, f"test.ingest.extra.{secrets.token_hex(4)}")
    async with pipeline(servers, db, extra) as running:
        yield running
