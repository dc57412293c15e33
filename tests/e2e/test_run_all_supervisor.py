"""`hookline run all`: the four services under one supervisor that restarts a crashed child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hookline_cli.services import SERVICES
from tests.servers import SERVICE_PORT_BASE, TEST_MASTER_KEY, TEST_STATE, Servers

pytestmark = pytest.mark.e2e

BASE_PORT = SERVICE_PORT_BASE + 20


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(check: object, what: str, timeout: float = 90.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def child_pids(port: int) -> list[int]:
    pattern = f"-m hookline_[a-z]+ --port {port}$"
    return [
        int(p) for p in subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True).stdout.split()
    ]


def child_pid(port: int) -> int | None:
    pids = child_pids(port)
    return pids[0] if pids else None


def test_a_crashed_service_is_restarted_and_sigterm_stops_them_all(servers: Servers) -> None:
    log = Path(TEST_STATE) / "logs" / "run-all.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    ports = [BASE_PORT + n for n in range(len(SERVICES))]
    with log.open("ab") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "hookline_cli.main", "run", "all", "--port", str(BASE_PORT)],
            env=servers.env(HOOKLINE_MASTER_KEY=TEST_MASTER_KEY),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: all(ready(p) for p in ports), "all four services")
        dispatcher_port = ports[list(SERVICES).index("dispatcher")]
        crashed = child_pid(dispatcher_port)
        assert crashed is not None
        os.kill(crashed, signal.SIGKILL)
        wait_for(lambda: child_pid(dispatcher_port) not in (None, crashed), "a new dispatcher process")
        wait_for(lambda: ready(dispatcher_port), "the restarted dispatcher")

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=60) == 0
        assert [p for p in ports if child_pid(p) is not None] == []
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        for port in ports:
            for pid in child_pids(port):
                os.kill(pid, signal.SIGKILL)
