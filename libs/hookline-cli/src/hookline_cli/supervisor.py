"""`hookline run all`: every service as a child process, restarted when it crashes, stopped together."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from types import FrameType

from hookline_cli.services import ServiceSpec

RESTART_BACKOFF_MAX = 30.0


def supervise(specs: Iterable[ServiceSpec], base_port: int | None = None) -> int:
    """Runs every service; with `base_port`, the n-th listens on base_port + n instead of its default."""
    children: dict[str, subprocess.Popen[bytes]] = {}
    backoff: dict[str, float] = {}
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    specs = list(specs)
    ports = {spec.name: (base_port + n if base_port is not None else spec.port) for n, spec in enumerate(specs)}
    for spec in specs:
        children[spec.name] = subprocess.Popen(spec.argv(ports[spec.name]))
    while not stopping:
        time.sleep(0.5)
        for spec in specs:
            child = children[spec.name]
            code = child.poll()
            if code is None or stopping:
                continue
            delay = min(RESTART_BACKOFF_MAX, backoff.get(spec.name, 0.5) * 2)
            backoff[spec.name] = delay
            print(f"hookline: {spec.name} exited with {code}; restarting in {delay:.1f}s", flush=True)
            time.sleep(delay)
            children[spec.name] = subprocess.Popen(spec.argv(ports[spec.name]))
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=25)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
