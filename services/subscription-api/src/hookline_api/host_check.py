"""Resolution of webhook host names at create/update time: bounded in time and concurrency, and cached briefly.

The check is advisory at this point (a name that does not resolve yet is accepted; the dispatcher resolves and
checks again at every delivery), so a slow or overloaded resolver must not stall the API: each lookup gets at
most `TIMEOUT_SECONDS`, at most `CONCURRENT_LOOKUPS` run at once (glibc lookups block a thread each), and
outcomes are remembered for `CACHE_SECONDS` so a burst of creates for one host resolves it once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from hookline.public_url import ResolutionError, UnsafeTargetError, resolve_public

TIMEOUT_SECONDS: Final = 2.0
CONCURRENT_LOOKUPS: Final = 8
CACHE_SECONDS: Final = 60.0
MAX_CACHED: Final = 10_000

# None: public or not resolvable (accepted); a string: the reason the address is refused.
Outcome = str | None


class HostChecker:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], tuple[float, Outcome]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_LOOKUPS)

    async def refusal(self, host: str, port: int) -> Outcome:
        """Why deliveries to `host` would be refused now (`loopback`, `private`, …), or None to accept it."""
        key = (host, port)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        outcome = await self._lookup(host, port)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, outcome)
        return outcome

    async def _lookup(self, host: str, port: int) -> Outcome:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS), self._slots:
                await resolve_public(host, port)
        except UnsafeTargetError as exc:
            return exc.reason
        except (ResolutionError, TimeoutError):
            return None
        return None
