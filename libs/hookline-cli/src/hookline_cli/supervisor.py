"""`hookline run all`: every service as a child process, restarted when it crashes, stopped together."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from types import FrameType

from hookline_cli.services import ServiceSpec

RESTART_BACKOFF_MAX = 30.0


def supervise(specs: Iterable[ServiceSpec]) -> int:
    children: dict[str, subprocess.Popen[bytes]] = {}
    backoff: dict[str, float] = {}
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    specs = list(specs)
    for spec in specs:
        children[spec.name] = subprocess.Popen(spec.argv())
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
            children[spec.name] = subprocess.Popen(spec.argv())
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=25)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
