"""A raw read of MongoDB finds no plaintext signing secret, private key, OIDC client secret or API key."""

from __future__ import annotations

import base64

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline.settings import Settings
from tests.integration.api.conftest import WEBHOOK, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def dump(db: AsyncDatabase[Document]) -> str:
    parts = []
    for name in await db.list_collection_names():
        parts += [repr(doc) for doc in await db[name].find({}).to_list(None)]
    return "\n".join(parts)


async def test_no_secret_is_stored_in_plaintext(
    client: Client, tenant: Tenant, db: AsyncDatabase[Document], api_settings: Settings
) -> None:
    oidc_secret = "oidc-client-secret-do-not-store"
    hmac = await client.post(
        "/v1/webhooks",
        json={
            **WEBHOOK,
            "oidc": {
                "auth_method": "client_secret",
                "client_id": "c",
                "client_secret": oidc_secret,
                "token_endpoint": "https://idp.example.invalid/t",
            },
        },
        headers={**tenant.manage, "Idempotency-Key": "at-rest"},
    )
    ed = await client.post("/v1/webhooks", json={**WEBHOOK, "signature_scheme": "ed25519"}, headers=tenant.manage)
    rotated = await client.post(f"/v1/webhooks/{hmac.json()['id']}/rotate-secret", headers=tenant.manage)
    secrets = [hmac.json()["signing_secret"], rotated.json()["signing_secret"]]
    raw = await dump(db)
    for value in [*secrets, oidc_secret, tenant.manage_key, tenant.read_key]:
        assert value not in raw
        assert value.removeprefix("whsec_").removeprefix("hl_live_") not in raw  # nor its body without the prefix
    # The seals open, with the webhook id as context, to exactly what the caller was given.
    box = SecretBox(api_settings.master_key or "")
    stored = await db[documents.WEBHOOKS].find_one({"_id": hmac.json()["id"]})
    assert stored is not None
    opened = [box.open(k["sealed"], context=stored["_id"]) for k in stored["signing_keys"]]
    assert opened == list(reversed(secrets))
    assert box.open(stored["oidc"]["client_secret_sealed"], context=stored["_id"]) == oidc_secret
    ed_doc = await db[documents.WEBHOOKS].find_one({"_id": ed.json()["id"]})
    assert ed_doc is not None
    private = box.open(ed_doc["signing_keys"][0]["sealed"], context=ed_doc["_id"])
    assert private.startswith("whsk_") and private not in raw
    assert base64.b64decode(private.removeprefix("whsk_"))[:32].hex() not in raw
    # No answer ever returns the OIDC secret or a stored key again.
    for webhook_id in (hmac.json()["id"], ed.json()["id"]):
        text = (await client.get(f"/v1/webhooks/{webhook_id}", headers=tenant.read)).text
        assert oidc_secret not in text and "sealed" not in text and "whsk_" not in text
        assert all(s not in text for s in secrets)
