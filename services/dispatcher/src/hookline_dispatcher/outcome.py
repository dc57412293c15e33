"""What an attempt's result means: success, a retry after some delay, or a dead letter (and maybe a disable)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from hookline.retry_schedule import RetryPolicy, next_delay

GONE_REASON = "endpoint answered 410 Gone"
RETRY_AFTER_STATUSES = (429, 503)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    latency_ms: float
    response_body: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Decision:
    kind: Literal["succeeded", "retry", "dead"]
    delay: float | None = None
    disable_reason: str | None = None


def decide(result: AttemptResult, policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> Decision:
    """`attempt` is the attempt number within the round, as `next_delay` counts it."""
    if result.succeeded:
        return Decision("succeeded")
    if result.status_code == 410:
        return Decision("dead", disable_reason=GONE_REASON)
    retry_after = result.retry_after if result.status_code in RETRY_AFTER_STATUSES else None
    delay = next_delay(policy, attempt, retry_after=retry_after, rng=rng)
    if delay is None:
        return Decision("dead")
    return Decision("retry", delay=delay)


def classify_status(status_code: int) -> str | None:
    """The error code of an HTTP status: None for 2xx, else `http_status`."""
    return None if 200 <= status_code < 300 else "http_status"
