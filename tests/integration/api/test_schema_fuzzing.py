"""A schemathesis run against /schema/openapi.json of the served API: no 5xx, no answer that breaks the schema."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline import documents
from hookline.ids import derived_id, new_id
from hookline.mongo import Document
from tests.integration.api.conftest import WEBHOOK, Tenant, new_tenant

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture
async def fuzz_config(served_api: str, db: AsyncDatabase[Document], tmp_path: Path) -> tuple[Tenant, Path]:
    """A tenant with a webhook, an event and a delivery, whose ids the run uses for path parameters, so that
    generated requests reach the handlers and not only the 404 of an unknown id."""
    tenant = await new_tenant(db, "fuzz")
    async with httpx.AsyncClient(base_url=served_api) as http:
        created = await http.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)
    webhook_id = created.json()["id"]
    now = datetime.now(UTC)
    event_id = new_id("evt")
    await db[documents.EVENTS].insert_one(
        {"_id": event_id, "organization_id": tenant.org_id, "type": "member.added", "session_id": None,
         "data": {"a": 1}, "created_at": now, "producer_id": None, "expires_at": now + timedelta(days=1)}
    )  # fmt: skip
    delivery_id = derived_id("dlv", at=now, seed=f"{event_id}:{webhook_id}")
    await db[documents.DELIVERIES].insert_one(
        {"_id": delivery_id, "organization_id": tenant.org_id, "webhook_id": webhook_id, "event_id": event_id,
         "status": "failed", "attempts": 3, "created_at": now, "updated_at": now, "expires_at": now + timedelta(days=1)}
    )  # fmt: skip
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.organization_id" = "{tenant.org_id}"\n'
        f'"path.webhook_id" = "{webhook_id}"\n'
        f'"path.delivery_id" = "{delivery_id}"\n'
        f'"path.event_id" = "{event_id}"\n'
    )
    return tenant, config


def test_generated_requests_get_no_5xx_and_answers_that_fit_the_schema(
    served_api: str, fuzz_config: tuple[Tenant, Path], tmp_path: Path
) -> None:
    tenant, config = fuzz_config
    # Bounded: 30 examples per operation, deterministic generation, no stateful phase (it chains without end).
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{served_api}/schema/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--request-timeout",
            "30",
            "--header",
            f"Authorization: Bearer {tenant.manage_key}",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, tail
    assert "passed" in result.stdout, tail
