"""The dispatcher's running parts, started and stopped together: the lifespan of the service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pymongo.asynchronous.database import AsyncDatabase

from hookline import assertion_key, documents, kafka, mongo
from hookline.assertion_key import AssertionKey
from hookline.messages import DeliveryTask
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline.settings import Settings
from hookline_dispatcher import metrics
from hookline_dispatcher.config_follower import ConfigFollower
from hookline_dispatcher.delivery_handler import DeliveryHandler
from hookline_dispatcher.failure_streak_store import FailureStreakStore
from hookline_dispatcher.oidc_tokens import OidcTokens
from hookline_dispatcher.options import DispatcherOptions
from hookline_dispatcher.record_batcher import RecordBatcher
from hookline_dispatcher.retry_relay import RetryRelay
from hookline_dispatcher.sender import Sender
from hookline_dispatcher.signing_keys import SigningKeys
from hookline_dispatcher.task_consumer import TaskConsumer
from hookline_dispatcher.tls_trust import delivery_ssl_context
from hookline_dispatcher.webhook_ownership import WebhookOwnership

log = structlog.get_logger(__name__)

CATCH_UP_TIMEOUT_SECONDS = 60.0


class Engine:
    def __init__(
        self, settings: Settings, db: AsyncDatabase[Document], box: SecretBox, options: DispatcherOptions
    ) -> None:
        self.settings = settings
        self.options = options
        self._db = db
        self._box = box
        self.ready = False
        self.follower = ConfigFollower(settings.kafka_bootstrap)
        self.sender = Sender(
            timeout_seconds=settings.delivery_timeout_seconds,
            allow_private_targets=settings.allow_private_targets,
            max_connections_per_pool=options.per_webhook_concurrency + 4,
            ssl_context=delivery_ssl_context(settings.extra_ca_file),
        )
        self.oidc = OidcTokens(self.sender, box, self._load_assertion_key)
        self.records = RecordBatcher(
            db, max_batch=options.record_batch_size, flush_seconds=options.record_flush_seconds
        )
        self._assertion_key: AssertionKey | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: TaskConsumer | None = None
        self._relay: RetryRelay | None = None
        self.handler: DeliveryHandler | None = None
        self.ownership: WebhookOwnership | None = None
        self._background: list[asyncio.Task[None]] = []

    async def _load_assertion_key(self) -> AssertionKey:
        if self._assertion_key is None:
            self._assertion_key = await assertion_key.load_or_create(self._db, self._box)
        return self._assertion_key

    async def start(self) -> None:
        ttl = await mongo.ensure_indexes(self._db)
        await kafka.wait_for_kafka(self.settings.kafka_bootstrap)
        self._producer = await kafka.start_producer(self.settings.kafka_bootstrap)
        await self.follower.start()
        # Never deliver with a stale view of the webhooks: read the whole config topic first.
        if not await self.follower.catch_up(CATCH_UP_TIMEOUT_SECONDS):
            raise RuntimeError("could not read hookline.endpoints to its end")
        self.records.start()
        self.handler = DeliveryHandler(
            options=self.options,
            follower=self.follower,
            sender=self.sender,
            oidc=self.oidc,
            keys=SigningKeys(self._box),
            records=self.records,
            producer=self._producer,
            db=self._db,
            retention_days=self.settings.attempt_retention_days,
        )
        self._relay = RetryRelay(self.settings.kafka_bootstrap, self.options, self._producer)
        await self._relay.start()
        self.ownership = WebhookOwnership(
            self.handler.states, FailureStreakStore(self._db), flush_seconds=self.options.streak_flush_seconds
        )
        self._consumer = TaskConsumer(
            self.settings.kafka_bootstrap, self.options, self._handle_record, self._hand_back_webhooks
        )
        await self._consumer.start()
        self._spawn(self._report_metrics())
        self._spawn(self.ownership.run())
        if not ttl:
            self._spawn(
                mongo.run_expiry_sweeper(
                    self._db, self.options.expiry_sweep_seconds, (documents.ATTEMPTS, documents.DELIVERIES)
                )
            )
        self.ready = True
        log.info("dispatcher started", group=self.options.group_id)

    async def stop(self) -> None:
        self.ready = False
        if self._consumer is not None:
            await self._consumer.stop()
        if self._relay is not None:
            await self._relay.stop()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.records.stop()
        if self.ownership is not None:
            self.ownership.cancel_loads()
            with contextlib.suppress(Exception):  # logged; the next owner continues from the last save
                await self.ownership.flush()
        await self.follower.stop()
        if self._producer is not None:
            await self._producer.stop()
        await self.sender.aclose()
        log.info("dispatcher stopped")

    async def _handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        assert self.handler is not None and self._producer is not None and self.ownership is not None
        try:
            task = msgspec.json.decode(record.value, type=DeliveryTask)
        except msgspec.DecodeError:
            metrics.DELIVERIES.labels("malformed").inc()
            log.error("malformed delivery task sent to the dead-letter topic", offset=record.offset)
            await self._producer.send_and_wait(
                self.options.topics.dead,
                record.value,
                key=record.key,
                headers=[("hookline-error", b"malformed_task")],
            )
            return
        await self.ownership.take(task.webhook_id, record.partition)
        await self.handler.handle(task)

    async def _hand_back_webhooks(self, revoked: list[TopicPartition]) -> None:
        if self.ownership is not None:
            await self.ownership.hand_back(tp.partition for tp in revoked)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._background.append(asyncio.create_task(coroutine))

    async def _report_metrics(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                if self._consumer is not None:
                    metrics.IN_FLIGHT.set(self._consumer.in_flight)
                    metrics.CONSUMER_LAG.set(await self._consumer.lag())
                if self._relay is not None:
                    for suffix, count in (await self._relay.backlog()).items():
                        metrics.RETRY_BACKLOG.labels(suffix).set(count)
            await asyncio.sleep(self.options.metrics_interval_seconds)
