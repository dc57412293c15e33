"""The `hookline` command against the real servers: organizations and API keys, stored hashed."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, documents
from hookline.mongo import Document
from tests.servers import Servers

pytestmark = pytest.mark.integration


def hookline(servers: Servers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline_cli.main", *args],
        env=servers.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_an_api_key_is_printed_once_and_stored_only_as_a_hash(
    servers: Servers, db: AsyncDatabase[Document]
) -> None:
    org = hookline(servers, "org", "create", "acme")
    assert org.returncode == 0, org.stderr
    org_id = org.stdout.strip()
    assert re.fullmatch(r"org_[0-9A-Z]{26}", org_id)

    created = hookline(servers, "api-key", "create", "--org", org_id, "--scopes", "webhooks.manage,events.publish")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"hl_live_[A-Za-z0-9_-]{32,}", key)

    stored = await db[documents.API_KEYS].find_one({"organization_id": org_id})
    assert stored is not None
    assert stored["hash"] == api_keys.hash_api_key(key)
    assert key not in repr(stored)
    assert sorted(stored["scopes"]) == ["events.publish", "webhooks.manage"]


def test_an_api_key_for_an_unknown_organization_is_refused(servers: Servers) -> None:
    result = hookline(servers, "api-key", "create", "--org", "org_NOPE", "--scopes", "webhooks.read")
    assert result.returncode == 1
    assert "no organization" in result.stderr


def test_unknown_scopes_are_refused(servers: Servers) -> None:
    result = hookline(servers, "api-key", "create", "--org", "org_X", "--scopes", "everything")
    assert result.returncode == 1
    assert "unknown scopes" in result.stderr
