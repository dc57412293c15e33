"""The four services: how each is started and where it listens by default."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int

    def argv(self, port: int | None = None) -> list[str]:
        # A subprocess, not an import: services never share a process with each other.
        return [sys.executable, "-m", self.module, "--port", str(port or self.port)]


SERVICES: Final = {
    s.name: s
    for s in (
        ServiceSpec("subscription-api", "hookline_api", 8000),
        ServiceSpec("event-ingest", "hookline_ingest", 8001),
        ServiceSpec("fan-out", "hookline_fanout", 8002),
        ServiceSpec("dispatcher", "hookline_dispatcher", 8003),
    )
}
