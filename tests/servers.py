"""The Kafka and MongoDB-wire servers the tests talk to: local processes, containers, or servers you run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from hookline import mongo
from hookline.mongo import Document
from hookline_cli.infra.stack import Stack, prepare

ROOT = Path(__file__).resolve().parents[1]
# Ports of their own, so the tests never touch what `make up` runs; HOOKLINE_TEST_SLOT=N shifts them by
# 10*N so that several checkouts (or engineers) can run the suite on one machine at once.
SLOT = int(os.environ.get("HOOKLINE_TEST_SLOT", "0"))
TEST_STATE = ROOT / ".hookline" / f"test-{SLOT}"
KAFKA_PORT, CONTROLLER_PORT, MONGO_PORT = 19092 + 10 * SLOT, 19093 + 10 * SLOT, 27018 + 10 * SLOT
SERVICE_PORT_BASE = 18000 + 10 * SLOT
# One master key for every test: secrets sealed by one suite (the assertion key, say) open in the others.
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc="  # base64 of 32 bytes, tests only


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    mongo_url: str
    stack: Stack | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a service started as a subprocess against these servers."""
        env = dict(os.environ)
        env.update(HOOKLINE_KAFKA_BOOTSTRAP=self.kafka_bootstrap, HOOKLINE_MONGO_URL=self.mongo_url)
        env.update(extra)
        return env


def docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_mode() -> str:
    mode = os.environ.get("HOOKLINE_INFRA")
    if mode:
        return mode
    if os.environ.get("HOOKLINE_KAFKA_BOOTSTRAP") and os.environ.get("HOOKLINE_MONGO_URL"):
        return "external"
    return "testcontainers" if docker_engine_available() else "local"


def test_database_url(base: str) -> str:
    """A fresh database per test session, so runs never see each other's documents."""
    name = f"hookline_test_{secrets.token_hex(4)}"
    head, _, tail = base.partition("://")
    host, _, rest = tail.partition("/")
    query = rest.partition("?")[2]
    return f"{head}://{host}/{name}" + (f"?{query}" if query else "")


@asynccontextmanager
async def throwaway_database(url: str) -> AsyncIterator[AsyncDatabase[Document]]:
    """The database `url` names, dropped when done."""
    client = mongo.connect(url)
    try:
        yield mongo.database(client)
    finally:
        await client.drop_database(mongo.database(client).name)
        await client.close()


@contextmanager
def start_servers() -> Iterator[Servers]:
    mode = choose_mode()
    if mode == "external":
        bootstrap = os.environ["HOOKLINE_KAFKA_BOOTSTRAP"]
        url = test_database_url(os.environ["HOOKLINE_MONGO_URL"])
        import asyncio

        asyncio.run(prepare(bootstrap, url))
        yield Servers(bootstrap, url)
    elif mode == "testcontainers":
        with _containers() as servers:
            yield servers
    elif mode == "local":
        stack = Stack.at(TEST_STATE, kafka_port=KAFKA_PORT, controller_port=CONTROLLER_PORT, mongo_port=MONGO_PORT)
        # A fresh Kafka log each session: no test reads another run's messages. The MongoDB-wire server's files
        # go too: each session has a database of its own, and earlier sessions' were left behind (7 GB of them
        # after a day of benchmark runs on one test slot).
        stack.kafka.wipe()
        stack.mongo.wipe()
        bootstrap, base_url = stack.up()
        url = test_database_url(base_url)
        import asyncio

        asyncio.run(prepare(bootstrap, url))
        try:
            yield Servers(bootstrap, url, stack)
        finally:
            if not os.environ.get("HOOKLINE_KEEP_INFRA"):
                stack.down()
    else:
        raise ValueError(f"HOOKLINE_INFRA must be local, testcontainers or external, not {mode!r}")


@contextmanager
def _containers() -> Iterator[Servers]:
    import asyncio

    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer

    # testcontainers' KafkaContainer drives Confluent's images; 8.0 is Apache Kafka 4.0 in KRaft mode.
    with (
        KafkaContainer("confluentinc/cp-kafka:8.0.0").with_kraft() as kafka,
        MongoDbContainer("mongo:8") as mongo,
    ):
        bootstrap = kafka.get_bootstrap_server()
        url = test_database_url(mongo.get_connection_url() + "/?authSource=admin")
        asyncio.run(prepare(bootstrap, url))
        yield Servers(bootstrap, url)
