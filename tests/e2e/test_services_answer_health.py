"""Each service runs as its own process and answers /healthz, /readyz and /metrics."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from hookline_cli.services import SERVICES
from tests.servers import SERVICE_PORT_BASE, Servers

pytestmark = pytest.mark.e2e

TEST_PORTS = {name: SERVICE_PORT_BASE + i for i, name in enumerate(SERVICES)}


@pytest.fixture(scope="module")
def running_services(servers: Servers) -> Iterator[dict[str, int]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hookline_cli.main", "run", name, "--port", str(port)],
            env=servers.env(HOOKLINE_MASTER_KEY="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        )
        for name, port in TEST_PORTS.items()
    ]
    try:
        yield TEST_PORTS
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def wait_ready(port: int, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"port {port} not ready: {last and last.text}")


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_is_ready_when_both_servers_answer(running_services: dict[str, int], name: str) -> None:
    port = running_services[name]
    ready = wait_ready(port)
    assert ready.json() == {"status": "ready", "checks": {"mongo": True, "kafka": True}}
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert metrics.status_code == 200
    assert "python_info" in metrics.text
