"""Re-sealing after a master-key rotation: every stored secret sealed by a retired key, sealed again.

Webhook secrets change through the one change path (a version bump in MongoDB, then the whole config on
`hookline.endpoints`), guarded by the version that was read, so a concurrent change from the API is never
overwritten: that webhook is read again and re-sealed on top of it. The OIDC assertion key is swapped only
while it is still the value read. Idempotency records are left alone: they expire within 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import assertion_key, documents, webhooks
from hookline.mongo import Document
from hookline.secret_box import SecretBox

ATTEMPTS_PER_WEBHOOK = 5


@dataclass
class ResealReport:
    webhooks_checked: int = 0
    webhooks_resealed: int = 0
    assertion_key_resealed: bool = False


def _again(box: SecretBox, sealed: str, context: str) -> str:
    return box.seal(box.open(sealed, context=context), context=context)


def resealed_fields(webhook: webhooks.Webhook, box: SecretBox) -> dict[str, Any]:
    """The document fields that re-seal the webhook's secrets with the current key; empty when none is due."""
    changes: dict[str, Any] = {}
    if any(box.needs_reseal(key.sealed) for key in webhook.signing_keys):
        keys = [
            msgspec.structs.replace(key, sealed=_again(box, key.sealed, webhook.id))
            if box.needs_reseal(key.sealed)
            else key
            for key in webhook.signing_keys
        ]
        changes["signing_keys"] = msgspec.to_builtins(keys, builtin_types=(datetime,))
    oidc = webhook.oidc
    if oidc is not None and oidc.client_secret_sealed is not None and box.needs_reseal(oidc.client_secret_sealed):
        fresh = msgspec.structs.replace(oidc, client_secret_sealed=_again(box, oidc.client_secret_sealed, webhook.id))
        changes["oidc"] = msgspec.to_builtins(fresh, builtin_types=(datetime,))
    return changes


async def reseal_webhook(
    db: AsyncDatabase[Document], producer: AIOKafkaProducer, box: SecretBox, webhook_id: str
) -> bool:
    """Re-seals one webhook's secrets; True when something was rewritten."""
    for _ in range(ATTEMPTS_PER_WEBHOOK):
        doc = await db[documents.WEBHOOKS].find_one({"_id": webhook_id})
        if doc is None:
            return False
        webhook = webhooks.from_document(doc)
        changes = resealed_fields(webhook, box)
        if not changes:
            return False
        if await webhooks.update(db, producer, webhook_id, changes, expected_version=webhook.version) is not None:
            return True
    raise RuntimeError(f"webhook {webhook_id} kept changing while it was being re-sealed; run again")


async def reseal_assertion_key(db: AsyncDatabase[Document], box: SecretBox) -> bool:
    doc = await db[assertion_key.COLLECTION].find_one({"_id": assertion_key.KEY_ID})
    if doc is None or not box.needs_reseal(str(doc["private_pem"])):
        return False
    fresh = _again(box, str(doc["private_pem"]), assertion_key.KEY_ID)
    result = await db[assertion_key.COLLECTION].update_one(
        {"_id": assertion_key.KEY_ID, "private_pem": doc["private_pem"]}, {"$set": {"private_pem": fresh}}
    )
    return result.modified_count == 1


async def reseal_all(db: AsyncDatabase[Document], producer: AIOKafkaProducer, box: SecretBox) -> ResealReport:
    """Re-seals every stored secret that a retired key sealed. Safe to run again; a second run rewrites nothing."""
    report = ResealReport()
    cursor = db[documents.WEBHOOKS].find({}, {"_id": 1}).sort("_id", 1)
    async for doc in cursor:
        report.webhooks_checked += 1
        if await reseal_webhook(db, producer, box, str(doc["_id"])):
            report.webhooks_resealed += 1
    report.assertion_key_resealed = await reseal_assertion_key(db, box)
    return report
