"""`hookline up` / `down`: the local servers and the four services in the background, ready when it returns."""

from __future__ import annotations

import time
import urllib.request

from hookline_cli.infra.processes import Layout, read_pid, spawn, stop
from hookline_cli.services import SERVICES, ServiceSpec


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def start_services(layout: Layout, timeout: float = 90.0) -> list[ServiceSpec]:
    """Starts every service that is not already running, then waits until all answer `/readyz`."""
    for spec in SERVICES.values():
        if read_pid(layout.pid_file(spec.name)) is None:
            spawn(spec.name, spec.argv(), layout)
    deadline = time.monotonic() + timeout
    pending = list(SERVICES.values())
    while pending and time.monotonic() < deadline:
        for spec in list(pending):
            if read_pid(layout.pid_file(spec.name)) is None:
                raise RuntimeError(f"{spec.name} exited; see {layout.log_file(spec.name)}")
            if ready(spec.port):
                pending.remove(spec)
        if pending:
            time.sleep(0.3)
    if pending:
        names = ", ".join(s.name for s in pending)
        raise TimeoutError(f"not ready after {timeout:.0f}s: {names}; see {layout.logs}")
    return list(SERVICES.values())


def stop_services(layout: Layout) -> list[str]:
    return [spec.name for spec in SERVICES.values() if stop(spec.name, layout)]
