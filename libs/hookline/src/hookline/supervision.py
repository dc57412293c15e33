"""Long-running loops that must outlive their own crashes (a consumer loop meeting a broker outage)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def run_forever(loop: Callable[[], Awaitable[None]], name: str, restart_delay: float = 1.0) -> None:
    """Runs `loop` until cancelled; an unexpected exception is logged and the loop started again."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error(f"{name} crashed; restarting", error_type=type(exc).__name__, error=str(exc)[:200])
            await asyncio.sleep(restart_delay)
