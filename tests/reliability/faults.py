"""The faults the scenarios inject: kill -9 and restart a service, stop and start Kafka or the MongoDB-wire server."""

from __future__ import annotations

import asyncio
import signal

from hookline_cli.infra.stack import Stack
from tests.platform import Platform

OUTAGE_SECONDS = 60.0


async def kill_and_restart(platform: Platform, name: str, service: str | None = None) -> None:
    """SIGKILL, then start it again on the same port, as a supervisor would."""
    port = platform.ports[name]
    platform.kill(name, signal.SIGKILL)
    platform.start(name, service=service, port=port)
    await asyncio.to_thread(platform.wait_ready, name)


async def restart_server(stack: Stack, server: str, down_for: float = 0.0) -> None:
    """Stops `kafka` or `mongo` (SIGTERM, as an orchestrator would), keeps it down `down_for` s, starts it again."""
    local = stack.kafka if server == "kafka" else stack.mongo
    await asyncio.to_thread(local.down)
    if down_for:
        await asyncio.sleep(down_for)  # the outage itself, not a wait for a condition
    await asyncio.to_thread(local.up)
