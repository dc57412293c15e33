"""Test data for the dispatcher: webhooks written the way the API writes them, and delivery tasks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, ids
from hookline.messages import DeliveryTask, EventEnvelope, SigningKey, encode
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline.signing import generate_secret
from hookline.webhooks import Webhook, publish_config, to_document
from tests.servers import TEST_MASTER_KEY

MASTER_KEY = TEST_MASTER_KEY
BOX = SecretBox(MASTER_KEY)


async def create_webhook(
    db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    url: str,
    *,
    secrets_newest_first: list[tuple[str, datetime | None]] | None = None,
    webhook_id: str | None = None,
    **fields: Any,
) -> tuple[Webhook, str]:
    """Stores and publishes a webhook; returns it and its current signing secret."""
    webhook_id = webhook_id or ids.new_id("wh")
    scheme = fields.get("signature_scheme", "standard")
    if secrets_newest_first is None:
        secrets_newest_first = [(generate_secret(scheme), None)]
    keys = [SigningKey(sealed=BOX.seal(s, context=webhook_id), expires_at=e) for s, e in secrets_newest_first]
    now = datetime.now(UTC)
    webhook = Webhook(
        id=webhook_id,
        organization_id=fields.pop("organization_id", "org_" + secrets.token_hex(8)),
        url=url,
        events=["*"],
        signing_keys=keys,
        created_at=now,
        updated_at=now,
        **fields,
    )
    await db[documents.WEBHOOKS].insert_one(to_document(webhook))
    await publish_config(producer, webhook)
    return webhook, secrets_newest_first[0][0]


def make_task(
    webhook: Webhook, *, data: dict[str, Any] | None = None, event_type: str = "member.added"
) -> DeliveryTask:
    event = EventEnvelope(
        id=ids.new_id("evt"),
        type=event_type,
        created_at=datetime.now(UTC),
        organization_id=webhook.organization_id,
        data={"member_id": "mem_1", "n": 1} if data is None else data,
    )
    delivery_id = ids.derived_id("dlv", at=event.created_at, seed=f"{event.id}:{webhook.id}")
    return DeliveryTask(
        delivery_id=delivery_id, webhook_id=webhook.id, organization_id=webhook.organization_id, event=event
    )


async def produce(producer: AIOKafkaProducer, topic: str, *tasks: DeliveryTask, partition: int | None = None) -> None:
    futures = [
        await producer.send(topic, encode(task), key=task.webhook_id.encode(), partition=partition) for task in tasks
    ]
    for future in futures:
        await future
