"""DESIGN.md §6's rule for webhooks that keep failing: disable after a long or long-running failure streak."""

from __future__ import annotations


class FailureStreak:
    """Consecutive failed attempts of one webhook and when the streak began; any success ends it."""

    def __init__(self, *, max_seconds: float, max_failures: int) -> None:
        self.max_seconds = max_seconds
        self.max_failures = max_failures
        self.failures = 0
        self.started_at: float | None = None

    def record_success(self) -> None:
        self.failures = 0
        self.started_at = None

    def record_failure(self, now: float) -> str | None:
        """Counts one failure; returns the reason to disable the webhook when the rule is met, else None."""
        self.failures += 1
        if self.started_at is None:
            self.started_at = now
        if self.failures >= self.max_failures:
            return f"disabled after {self.failures} failed deliveries in a row"
        if now - self.started_at >= self.max_seconds:
            return f"disabled: every delivery attempt failed for {_duration(now - self.started_at)}"
        return None


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"
