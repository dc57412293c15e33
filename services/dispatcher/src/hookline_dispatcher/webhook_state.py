"""What one dispatcher keeps about each webhook it owns: concurrency slots, rate bucket, breaker, failure streak."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator

from hookline.messages import WebhookConfig
from hookline_dispatcher.circuit_breaker import CircuitBreaker
from hookline_dispatcher.disable_rule import FailureStreak
from hookline_dispatcher.failure_streak_store import StreakSnapshot
from hookline_dispatcher.options import DispatcherOptions
from hookline_dispatcher.token_bucket import TokenBucket


class WebhookState:
    def __init__(self, options: DispatcherOptions) -> None:
        self.slots = asyncio.Semaphore(options.per_webhook_concurrency)
        self.breaker = CircuitBreaker(
            threshold=options.breaker_threshold,
            cooldown=options.breaker_cooldown_seconds,
            max_cooldown=options.breaker_max_cooldown_seconds,
        )
        self.streak = FailureStreak(
            max_seconds=options.disable_after_seconds, max_failures=options.disable_after_failures
        )
        self._bucket: TokenBucket | None = None
        # Set when this dispatcher disabled the webhook: until a newer config arrives, nothing more is sent.
        self.disabled_at_version: int | None = None

    def disabled_locally(self, config: WebhookConfig) -> bool:
        return self.disabled_at_version is not None and config.version <= self.disabled_at_version

    def health_snapshot(self, wall: float, mono: float) -> StreakSnapshot | None:
        """The streak and breaker to save (None when healthy); `wall` and `mono` are the same instant."""
        breaker = self.breaker
        if not self.streak.failures and not breaker.failures and not breaker.is_open:
            return None
        return StreakSnapshot(
            failures=self.streak.failures,
            started_at=self.streak.started_at,
            breaker_failures=breaker.failures,
            breaker_open_until=None if breaker.open_until is None else wall + breaker.open_until - mono,
            breaker_cooldown_seconds=breaker.cooldown,
        )

    def restore_health(self, snapshot: StreakSnapshot, wall: float, mono: float) -> None:
        self.streak.restore(failures=snapshot.failures, started_at=snapshot.started_at)
        open_until = snapshot.breaker_open_until
        self.breaker.restore(
            failures=snapshot.breaker_failures,
            open_until=None if open_until is None else mono + open_until - wall,
            cooldown=snapshot.breaker_cooldown_seconds,
        )

    def rate_wait(self, rate: float | None, now: float) -> float:
        """Seconds this delivery must wait for the webhook's rate limit (0 without one)."""
        if rate is None or rate <= 0:
            self._bucket = None
            return 0.0
        if self._bucket is None or self._bucket.rate != rate:
            self._bucket = TokenBucket(rate, now=now)
        return self._bucket.reserve(now)


class WebhookStates:
    def __init__(self, options: DispatcherOptions) -> None:
        self._options = options
        self._states: dict[str, WebhookState] = {}

    def get(self, webhook_id: str) -> WebhookState:
        state = self._states.get(webhook_id)
        if state is None:
            state = self._states[webhook_id] = WebhookState(self._options)
        return state

    def known(self, webhook_id: str) -> bool:
        return webhook_id in self._states

    def items(self) -> Iterator[tuple[str, WebhookState]]:
        return iter(list(self._states.items()))

    def forget(self, webhook_ids: Iterable[str]) -> None:
        for webhook_id in webhook_ids:
            self._states.pop(webhook_id, None)
