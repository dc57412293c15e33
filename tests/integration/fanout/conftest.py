"""The pipeline (ingest and fan-out in-process) shared by this package's tests; each test uses its own org."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.integration.ingest.conftest import create_topic
from tests.integration.ingest.pipeline import Pipeline, pipeline
from tests.servers import Servers


@pytest.fixture(scope="package")
async def pipe(servers: Servers, db: AsyncDatabase[Document]) -> AsyncIterator[Pipeline]:
    extra = await create_topic(servers, f"test.fanout.extra.{secrets.token_hex(4)}")
    async with pipeline(servers, db, extra) as running:
        yield running
