"""Per-webhook circuit breaker: after N consecutive failures, deliveries are held back and one probe goes first."""

from __future__ import annotations


class CircuitBreaker:
    """Closed: everything goes. Open: nothing goes until `open_until`. Then half-open: one probe goes; its success
    closes the breaker, its failure opens it again for twice as long (up to `max_cooldown`)."""

    def __init__(self, *, threshold: int, cooldown: float, max_cooldown: float) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max(cooldown, max_cooldown)
        self.failures = 0
        self.open_until: float | None = None
        self._cooldown = cooldown
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self.open_until is not None

    @property
    def cooldown(self) -> float:
        """The pause the breaker takes next time it opens (doubled by each failed probe)."""
        return self._cooldown

    def restore(self, *, failures: int, open_until: float | None, cooldown: float) -> None:
        """Takes over a breaker saved by another owner; an open one lets a single probe through once it is due."""
        self.failures = failures
        self.open_until = open_until
        self._cooldown = min(max(cooldown, self.base_cooldown), self.max_cooldown)
        self._probing = False

    def allow(self, now: float) -> bool:
        """Whether a delivery may be attempted now; when it is the half-open probe, it is the only one."""
        if self.open_until is None:
            return True
        if now < self.open_until or self._probing:
            return False
        self._probing = True
        return True

    def retry_at(self, now: float) -> float:
        """When a held-back delivery should come back: after the open period, or soon after a running probe."""
        if self.open_until is not None and now < self.open_until:
            return self.open_until
        return now + min(self._cooldown, self.base_cooldown)

    def record_success(self) -> None:
        self.failures = 0
        self.open_until = None
        self._probing = False
        self._cooldown = self.base_cooldown

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self._probing:
            self._probing = False
            self._cooldown = min(self._cooldown * 2, self.max_cooldown)
            self.open_until = now + self._cooldown
        elif self.open_until is None and self.failures >= self.threshold:
            self.open_until = now + self._cooldown
