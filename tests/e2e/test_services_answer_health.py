"""Each service runs as its own process and answers /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookline_cli.services import SERVICES
from tests.platform import Platform
from tests.servers import TEST_STATE, Servers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(servers: Servers) -> Iterator[Platform]:
    running = Platform(servers, log_dir=Path(TEST_STATE) / "logs" / "e2e-health")
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_is_ready_when_both_servers_answer(platform: Platform, name: str) -> None:
    ready = httpx.get(f"{platform.url(name)}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert httpx.get(f"{platform.url(name)}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{platform.url(name)}/metrics")
    assert metrics.status_code == 200
    assert "python_info" in metrics.text
