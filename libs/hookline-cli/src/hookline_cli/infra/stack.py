"""The local servers together: start both, create topics and indexes, and make the master key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from hookline import kafka, mongo
from hookline.secret_box import generate_master_key
from hookline.settings import MASTER_KEY_FILE
from hookline_cli.infra.kafka_local import KafkaLocal
from hookline_cli.infra.mongo_local import MongoLocal
from hookline_cli.infra.processes import Layout


@dataclass(frozen=True)
class Stack:
    layout: Layout
    kafka: KafkaLocal
    mongo: MongoLocal

    @classmethod
    def at(cls, root: Path, *, kafka_port: int = 9092, controller_port: int = 9093, mongo_port: int = 27017) -> Stack:
        layout = Layout(root)
        return cls(layout, KafkaLocal(layout, kafka_port, controller_port), MongoLocal(layout, mongo_port))

    def ensure_master_key(self) -> Path:
        path = self.layout.root / MASTER_KEY_FILE
        if not path.is_file():
            self.layout.root.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(generate_master_key() + "\n")
        return path

    def up(self) -> tuple[str, str]:
        """Both servers running, topics created, indexes made; idempotent. Returns (bootstrap, mongo url)."""
        self.layout.make()
        self.ensure_master_key()
        bootstrap = self.kafka.up()
        url = self.mongo.up()
        asyncio.run(prepare(bootstrap, url))
        return bootstrap, url

    def down(self) -> None:
        self.kafka.down()
        self.mongo.down()

    def status(self) -> dict[str, bool]:
        return {"kafka": self.kafka.running(), "mongo": self.mongo.running()}


async def prepare(bootstrap: str, mongo_url: str, timeout: float = 90.0) -> None:
    await kafka.wait_for_kafka(bootstrap, timeout)
    await kafka.ensure_topics(bootstrap)
    client = mongo.connect(mongo_url)
    try:
        await mongo.ensure_indexes(mongo.database(client))
    finally:
        await client.close()
