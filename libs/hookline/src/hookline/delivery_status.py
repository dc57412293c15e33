"""A delivery's status, read back: its status document, or its first attempt when that attempt succeeded.

A delivery that succeeds at its first attempt (nearly every delivery) stores only that attempt: the attempt
already says everything its status would (who, which event, succeeded, the status code), and one document
per delivery instead of two halves what the dispatcher writes. Every other outcome (a retry pending, a
delivery that failed or was dropped, any later attempt) also writes the status document. A succeeded attempt
wins over a status document that says otherwise, as a stored `succeeded` status always has: a late duplicate
never undoes a success.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents, mongo
from hookline.documents import Attempt, Delivery
from hookline.mongo import Document

_ATTEMPT_FIELDS = {
    "organization_id": 1,
    "webhook_id": 1,
    "event_id": 1,
    "delivery_id": 1,
    "attempt": 1,
    "status": 1,
    "status_code": 1,
    "created_at": 1,
    "expires_at": 1,
    "latency_ms": 1,
}


def stores_status(*, succeeded: bool, attempt_number: int) -> bool:
    """Whether an attempt's outcome needs a status document besides the attempt itself."""
    return not (succeeded and attempt_number == 1)


def from_attempt(attempt: Attempt) -> Delivery:
    """The status a succeeded first attempt stands for."""
    return Delivery(
        id=attempt.delivery_id,
        organization_id=attempt.organization_id,
        webhook_id=attempt.webhook_id,
        event_id=attempt.event_id,
        status="succeeded",
        attempts=attempt.attempt,
        last_status_code=attempt.status_code,
        last_error=None,
        created_at=attempt.created_at,
        updated_at=attempt.created_at,
        expires_at=attempt.expires_at,
    )


def merge(stored: Iterable[Delivery], succeeded: Iterable[Attempt]) -> list[Delivery]:
    """Status documents, with succeeded attempts filling in (or overriding) the deliveries they succeeded."""
    by_id = {d.id: d for d in stored}
    for attempt in succeeded:
        delivery = by_id.get(attempt.delivery_id)
        if delivery is None:
            by_id[attempt.delivery_id] = from_attempt(attempt)
        elif delivery.status != "succeeded":
            by_id[attempt.delivery_id] = Delivery(
                id=delivery.id,
                organization_id=delivery.organization_id,
                webhook_id=delivery.webhook_id,
                event_id=delivery.event_id,
                status="succeeded",
                attempts=max(delivery.attempts, attempt.attempt),
                last_status_code=attempt.status_code,
                last_error=None,
                created_at=delivery.created_at,
                updated_at=max(delivery.updated_at, attempt.created_at),
                expires_at=max(delivery.expires_at, attempt.expires_at),
            )
    return list(by_id.values())


async def of_event(db: AsyncDatabase[Document], event_id: str, organization_id: str) -> list[Delivery]:
    """Every delivery of one event."""
    query: dict[str, Any] = {"event_id": event_id, "organization_id": organization_id}
    stored = await db[documents.DELIVERIES].find(query).to_list(None)
    succeeded = await db[documents.ATTEMPTS].find({**query, "status": "succeeded"}, _ATTEMPT_FIELDS).to_list(None)
    return merge(
        (mongo.from_document(d, Delivery) for d in stored),
        (mongo.from_document(a, Attempt) for a in succeeded),
    )


async def find(db: AsyncDatabase[Document], delivery_id: str) -> Delivery | None:
    """One delivery by id, or None when it has neither a status document nor a succeeded attempt."""
    found = await of_ids(db, [delivery_id])
    return found[0] if found else None


async def of_ids(db: AsyncDatabase[Document], delivery_ids: list[str]) -> list[Delivery]:
    """The deliveries among `delivery_ids` that exist."""
    if not delivery_ids:
        return []
    stored = await db[documents.DELIVERIES].find({"_id": {"$in": delivery_ids}}).to_list(None)
    succeeded = (
        await db[documents.ATTEMPTS]
        .find({"delivery_id": {"$in": delivery_ids}, "status": "succeeded"}, _ATTEMPT_FIELDS)
        .to_list(None)
    )
    return merge(
        (mongo.from_document(d, Delivery) for d in stored),
        (mongo.from_document(a, Attempt) for a in succeeded),
    )
