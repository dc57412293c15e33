"""The delivery status write of an attempt's outcome, shaped for FerretDB: insert first, update only on collision.

FerretDB v1 (SQLite) scans the collection for every update or upsert, so a status write is first tried as a
plain insert (the usual case: a delivery's first and only outcome); only a delivery that already has a
document is updated, by `_id` alone, after reading its status so that a late duplicate never turns
`succeeded` back into `pending` or `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hookline.messages import DeliveryTask
from hookline.mongo import Document

DeliveryStatus = Literal["pending", "succeeded", "failed"]


@dataclass(frozen=True)
class DeliveryWrite:
    delivery_id: str
    status: DeliveryStatus
    attempts: int
    fields: Document
    on_insert: Document

    def document(self) -> Document:
        return {"_id": self.delivery_id, **self.on_insert, **self.fields, "attempts": self.attempts}

    def update(self) -> Document:
        return {"$set": self.fields, "$max": {"attempts": self.attempts}}

    def applies_over(self, stored_status: str | None) -> bool:
        """A succeeded delivery keeps its status; anything else may be overwritten."""
        return self.status == "succeeded" or stored_status != "succeeded"


def delivery_write(
    task: DeliveryTask,
    *,
    status: DeliveryStatus,
    attempts: int,
    status_code: int | None,
    error: str | None,
    now: datetime,
    retention_days: int,
) -> DeliveryWrite:
    return DeliveryWrite(
        delivery_id=task.delivery_id,
        status=status,
        attempts=attempts,
        fields={
            "status": status,
            "last_status_code": status_code,
            "last_error": error,
            "updated_at": now,
            "expires_at": now + timedelta(days=retention_days),
        },
        on_insert={
            "organization_id": task.organization_id,
            "webhook_id": task.webhook_id,
            "event_id": task.event.id,
            "created_at": task.event.created_at,
        },
    )
