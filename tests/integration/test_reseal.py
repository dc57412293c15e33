"""`hookline secrets reseal`: after a master-key rotation, every secret a retired key sealed is sealed again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline import assertion_key, documents, kafka, signing, webhooks
from hookline.ids import new_id
from hookline.messages import OidcConfig, SigningKey
from hookline.mongo import Document
from hookline.secret_box import SecretBox, SecretBoxError, generate_master_key
from tests.integration.test_webhook_change_path import endpoint_messages
from tests.servers import Servers

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_db(db: AsyncDatabase[Document]) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of its own: its secrets are sealed with this test's keys, not the session's."""
    mine = db.client.get_database(f"{db.name}_reseal")
    try:
        yield mine
    finally:
        await db.client.drop_database(mine.name)


def webhook_sealed_by(box: SecretBox, secret: str, client_secret: str | None) -> webhooks.Webhook:
    wid, now = new_id("wh"), datetime.now(UTC)
    oidc = None
    if client_secret is not None:
        oidc = OidcConfig(
            auth_method="client_secret",
            client_id="c",
            token_endpoint="https://auth.example.com/token",
            client_secret_sealed=box.seal(client_secret, context=wid),
        )
    return webhooks.Webhook(
        id=wid,
        organization_id=new_id("org"),
        url="https://example.com/h",
        events=["*"],
        signing_keys=[SigningKey(sealed=box.seal(secret, context=wid))],
        oidc=oidc,
        created_at=now,
        updated_at=now,
    )


def reseal(servers: Servers, db: AsyncDatabase[Document], new: str, old: str) -> str:
    url = servers.mongo_url.rsplit("/", 1)[0] + "/" + db.name
    done = subprocess.run(
        [sys.executable, "-m", "hookline_cli.main", "secrets", "reseal"],
        env=servers.env(HOOKLINE_MONGO_URL=url, HOOKLINE_MASTER_KEY=new, HOOKLINE_RETIRED_MASTER_KEYS=old),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert new not in done.stdout + done.stderr and old not in done.stdout + done.stderr
    return done.stdout.strip()


async def test_reseal_rewrites_what_the_retired_key_sealed_and_publishes_it(
    servers: Servers, own_db: AsyncDatabase[Document]
) -> None:
    old, new = generate_master_key(), generate_master_key()
    old_box, new_box = SecretBox(old), SecretBox(new)
    secret = signing.generate_secret("standard")
    stale = webhook_sealed_by(old_box, secret, client_secret="oidc-client-secret")
    current = webhook_sealed_by(new_box, signing.generate_secret("standard"), client_secret=None)
    for hook in (stale, current):
        await own_db[documents.WEBHOOKS].insert_one(webhooks.to_document(hook))
    await assertion_key.load_or_create(own_db, old_box)
    pem = (await assertion_key.load_or_create(own_db, old_box)).private_pem

    assert reseal(servers, own_db, new, old) == "webhooks checked 2, re-sealed 1; assertion key re-sealed: yes"

    # Only the new key is needed from now on: the old one can leave HOOKLINE_RETIRED_MASTER_KEYS.
    stored = webhooks.from_document(await own_db[documents.WEBHOOKS].find_one({"_id": stale.id}) or {})
    assert stored.version == 2
    assert new_box.open(stored.signing_keys[0].sealed, context=stale.id) == secret
    assert stored.oidc is not None and stored.oidc.client_secret_sealed is not None
    assert new_box.open(stored.oidc.client_secret_sealed, context=stale.id) == "oidc-client-secret"
    with pytest.raises(SecretBoxError):
        old_box.open(stored.signing_keys[0].sealed, context=stale.id)
    untouched = await own_db[documents.WEBHOOKS].find_one({"_id": current.id})
    assert untouched is not None and untouched["version"] == 1
    assert (await assertion_key.load_or_create(own_db, new_box)).private_pem == pem

    # Dispatchers learn the new sealed values from the change feed, like any other change.
    [published] = await endpoint_messages(servers, stale.id, 1)
    config = webhooks.decode_config(published)
    assert config is not None and config.version == 2
    assert new_box.open(config.signing_keys[0].sealed, context=stale.id) == secret

    assert reseal(servers, own_db, new, old) == "webhooks checked 2, re-sealed 0; assertion key re-sealed: no"


async def test_a_change_computed_from_an_older_version_is_not_applied(
    servers: Servers, own_db: AsyncDatabase[Document]
) -> None:
    hook = webhook_sealed_by(SecretBox(generate_master_key()), signing.generate_secret("standard"), None)
    await own_db[documents.WEBHOOKS].insert_one(webhooks.to_document(hook))
    producer = await kafka.start_producer(servers.kafka_bootstrap)
    try:
        newer = await webhooks.update(own_db, producer, hook.id, {"description": "newer"}, expected_version=1)
        stale = await webhooks.update(own_db, producer, hook.id, {"description": "stale"}, expected_version=1)
    finally:
        await producer.stop()
    assert newer is not None and newer.version == 2
    assert stale is None
    doc = await own_db[documents.WEBHOOKS].find_one({"_id": hook.id})
    assert doc is not None and (doc["description"], doc["version"]) == ("newer", 2)
