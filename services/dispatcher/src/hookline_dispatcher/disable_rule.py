"""DESIGN.md §6's rule for webhooks that keep failing: disable after a long or long-running failure streak."""

from __future__ import annotations


class FailureStreak:
    """Consecutive failed attempts of one webhook and when the streak began (unix seconds); any success ends it.

    A streak that meets the rule is spent by the disable it causes: it starts again from zero, so a webhook its
    owner enables again gets a whole new allowance. `changed` tells the store a new state is to be saved.
    """

    def __init__(self, *, max_seconds: float, max_failures: int) -> None:
        self.max_seconds = max_seconds
        self.max_failures = max_failures
        self.failures = 0
        self.started_at: float | None = None
        self.changed = False

    def restore(self, *, failures: int, started_at: float | None) -> None:
        """Continues a streak saved by an earlier owner of the webhook (after a restart or a rebalance)."""
        self.failures = failures
        self.started_at = started_at if failures else None

    def record_success(self) -> None:
        if self.failures:
            self.changed = True
        self.failures = 0
        self.started_at = None

    def record_failure(self, now: float) -> str | None:
        """Counts one failure; returns the reason to disable the webhook when the rule is met, else None."""
        self.changed = True
        self.failures += 1
        if self.started_at is None:
            self.started_at = now
        reason: str | None = None
        if self.failures >= self.max_failures:
            reason = f"disabled after {self.failures} failed deliveries in a row"
        elif now - self.started_at >= self.max_seconds:
            reason = f"disabled: every delivery attempt failed for {_duration(now - self.started_at)}"
        if reason is not None:
            self.failures = 0
            self.started_at = None
        return reason


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"
