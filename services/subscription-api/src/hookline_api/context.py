"""What the route handlers share, built once by `create_app` and handed to them as the `ctx` dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline.event_catalogue import EventType
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline.settings import Settings
from hookline_api.host_check import HostChecker


@dataclass
class ApiContext:
    settings: Settings
    db: AsyncDatabase[Document]
    box: SecretBox
    catalogue: dict[str, EventType]
    hosts: HostChecker = field(default_factory=HostChecker)
    # Set by the lifespan once Kafka answers; routes that produce wait for it.
    producer_holder: list[AIOKafkaProducer] = field(default_factory=list)
    # The public JWK of the installation's private_key_jwt assertion key, loaded at start.
    assertion_jwk: dict[str, Any] | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if not self.producer_holder:
            raise RuntimeError("the Kafka producer is not started")
        return self.producer_holder[0]
