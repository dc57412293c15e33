"""What one dispatcher keeps about each webhook it owns: concurrency slots, rate bucket, breaker, failure streak."""

from __future__ import annotations

import asyncio

from hookline.messages import WebhookConfig
from hookline_dispatcher.circuit_breaker import CircuitBreaker
from hookline_dispatcher.disable_rule import FailureStreak
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
