"""Kafka helpers: waiting for the broker, creating Hookline's topics, and producer defaults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hookline.topics import TOPICS, TopicSpec

log = structlog.get_logger(__name__)

# Longest a fetch waits at the broker for records (aiokafka's default: 500 ms). aiokafka keeps one fetch in flight
# per broker and, while it is out, does not fetch again a partition whose records were just read: so a record on
# the busy partition waited behind a long poll for the idle ones, up to the whole wait (seen as 500 to 700 ms
# spikes of a single stage in `bench/stages.py`, several times a minute). The cost of a short wait is empty
# fetches while idle: about 1000 / FETCH_MAX_WAIT_MS a second per consumer.
FETCH_MAX_WAIT_MS = 25
# The same for the followers of the config topic, which read webhook changes, not deliveries: a change reaches
# them at once unless one arrived on its partition just before (then within this wait). Each idle consumer's
# empty fetches cost Kafka and the service CPU, so these wait longer.
FOLLOWER_FETCH_MAX_WAIT_MS = 100


async def wait_for_kafka(bootstrap: str, timeout: float = 60.0) -> None:
    """Returns once the broker answers metadata requests; raises TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.25)
    raise TimeoutError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s: {last}")


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec] = TOPICS) -> list[str]:
    """Creates the topics that are missing; returns the names it created. Safe to run again."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for spec in missing:
            try:
                await admin.create_topics([NewTopic(spec.name, spec.partitions, 1, topic_configs=dict(spec.config))])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


def producer_options(**overrides: Any) -> dict[str, Any]:
    """Durable producing: acks from all replicas; a batch not acknowledged within the request timeout fails, and
    the caller (which commits nothing before the acknowledgement) sends it again.

    Not idempotent: aiokafka's idempotent producer keeps counting sequence numbers for batches whose futures
    failed, so after a broker outage the broker answered every later batch with OutOfOrderSequenceNumber, which
    ends aiokafka's sender task for good; later sends then return futures that never resolve (seen in the
    reliability suite's 60 s Kafka outage: 594 refusals, then a producer that never sent again). A retry may
    instead write a record twice, which at-least-once delivery already allows: the copies carry the same event
    and delivery ids, so receivers see the same `webhook-id`.
    """
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "compression_type": None,
    }
    options.update(overrides)
    return options


async def start_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_options(**overrides))
    await producer.start()
    return producer


async def kafka_reachable(bootstrap: str) -> bool:
    """One metadata round trip; what `/readyz` asks of Kafka."""
    try:
        await wait_for_kafka(bootstrap, timeout=2.0)
    except TimeoutError:
        return False
    return True
