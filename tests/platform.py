"""The four services as separate OS processes for end-to-end and reliability tests: start, kill, restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hookline_cli.services import SERVICES
from tests.servers import SERVICE_PORT_BASE, TEST_MASTER_KEY, Servers


@dataclass
class Platform:
    """Services started as `hookline run NAME --port N` children, logs under `log_dir`."""

    servers: Servers
    log_dir: Path
    env_overrides: Mapping[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return self.servers.env(
            HOOKLINE_MASTER_KEY=TEST_MASTER_KEY,
            HOOKLINE_ALLOW_PRIVATE_TARGETS="true",
            HOOKLINE_LOG_LEVEL="info",
            **self.env_overrides,
        )

    def start(self, name: str, *, service: str | None = None, port: int | None = None) -> int:
        """Starts `service` (default: `name`) under the label `name`; returns its port."""
        service = service or name
        if port is None:
            port = SERVICE_PORT_BASE + list(SERVICES).index(service) if name == service else free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "hookline_cli.main", "run", service, "--port", str(port)],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.ports[name] = port
        return port

    def start_all(self) -> None:
        for name in SERVICES:
            self.start(name)
        for name in SERVICES:
            self.wait_ready(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, name: str, timeout: float = 90.0) -> None:
        wait_ready(self.url(name), self.procs[name], timeout, f"{name} (see {self.log_dir / name}.log)")

    def wait_all_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        for name in self.procs:
            self.wait_ready(name, max(0.0, deadline - time.monotonic()))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            proc.wait(timeout=60)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90.0, what: str | None = None
) -> None:
    """Until `url`/readyz answers 200; fails at the deadline, or at once when `proc` exits. Blocking: from a
    coroutine, run it with `asyncio.to_thread`."""
    what = what or url
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            answer = httpx.get(f"{url}/readyz", timeout=5)
            if answer.status_code == 200:
                return
            last = answer.text
        except httpx.TransportError as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready after {timeout:.0f}s: {last[:300]}")
        time.sleep(0.2)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
