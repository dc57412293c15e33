"""A token bucket that hands out start times, so a rate-limited task waits on its own without blocking others."""

from __future__ import annotations


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. `reserve(now)` books one token and says how long to wait.

    Reservations may run the balance negative: each later caller is booked behind the earlier ones, so the
    start times are spaced exactly 1/rate apart once the burst is spent.
    """

    def __init__(self, rate: float, *, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.burst
        self._updated = now

    def reserve(self, now: float) -> float:
        """Takes one token; returns the seconds to wait before using it (0 when one is available now)."""
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate
