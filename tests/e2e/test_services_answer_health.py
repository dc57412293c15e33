"""Each service runs as its own process and answers /healthz, /readyz and /metrics."""

from __future__ import annotations

import httpx
import pytest

from hookline_cli.services import SERVICES
from tests.platform import Platform

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_is_ready_when_both_servers_answer(platform: Platform, name: str) -> None:
    ready = httpx.get(f"{platform.url(name)}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert httpx.get(f"{platform.url(name)}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{platform.url(name)}/metrics")
    assert metrics.status_code == 200
    assert "python_info" in metrics.text
