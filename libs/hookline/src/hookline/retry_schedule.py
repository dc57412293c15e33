"""Retry delays as configuration: per-webhook policies, jitter, Retry-After, and the fixed retry tiers."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Final, Literal

import msgspec

MAX_DELAY_SECONDS: Final = 6 * 3600
MIN_ATTEMPTS: Final = 1
MAX_ATTEMPTS: Final = 30
MIN_DELAY_SECONDS: Final = 1
MAX_POLICY_DELAY_SECONDS: Final = 3600

# Spread retries of many deliveries that failed together (an endpoint outage) so they do not return in lockstep.
# A fixed policy is a caller asking for a steady cadence, so it is disturbed less.
JITTER: Final[dict[str, float]] = {"exponential": 0.2, "linear": 0.2, "fixed": 0.1}

RETRY_TIERS: Final[tuple[int, ...]] = (1, 5, 30, 120, 600, 3600, 21600)

_DELTA_SECONDS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_RNG = random.Random()


class RetryPolicy(msgspec.Struct, frozen=True):
    """How often and how far apart a webhook's failed deliveries are retried (`attempts` counts the first try)."""

    policy: Literal["exponential", "linear", "fixed"] = "exponential"
    attempts: Annotated[int, msgspec.Meta(ge=MIN_ATTEMPTS, le=MAX_ATTEMPTS)] = 15
    delay_seconds: Annotated[int, msgspec.Meta(ge=MIN_DELAY_SECONDS, le=MAX_POLICY_DELAY_SECONDS)] = 2

    def validate(self) -> None:
        """Raise `ValueError` unless every field is in range; msgspec checks this on decode, this on construction."""
        if self.policy not in JITTER:
            raise ValueError(f"policy must be one of {', '.join(JITTER)}")
        if not MIN_ATTEMPTS <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts must be from {MIN_ATTEMPTS} to {MAX_ATTEMPTS}")
        if not MIN_DELAY_SECONDS <= self.delay_seconds <= MAX_POLICY_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be from {MIN_DELAY_SECONDS} to {MAX_POLICY_DELAY_SECONDS}")


def base_delay(policy: RetryPolicy, attempt: int) -> float:
    """The un-jittered delay after failed attempt number `attempt` (1 = the first try), capped at 6 hours."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if policy.policy == "exponential":
        # Bound the exponent first: 2**attempt for a large attempt would be a huge int for nothing.
        delay = policy.delay_seconds * 2 ** min(attempt - 1, MAX_DELAY_SECONDS.bit_length())
    elif policy.policy == "linear":
        delay = policy.delay_seconds * attempt
    else:
        delay = policy.delay_seconds
    return float(min(delay, MAX_DELAY_SECONDS))


def next_delay(
    policy: RetryPolicy,
    attempt: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after failed attempt number `attempt`, or None when that was the last one allowed.

    The base delay is jittered uniformly by ±20% (exponential, linear) or ±10% (fixed). A `retry_after` from the
    endpoint is a lower bound: we never come back sooner than it asked. The result never exceeds 6 hours.
    """
    if attempt >= policy.attempts:
        return None
    spread = JITTER[policy.policy]
    jittered = base_delay(policy, attempt) * (rng or _RNG).uniform(1 - spread, 1 + spread)
    if retry_after is not None and retry_after > 0:
        jittered = max(jittered, retry_after)
    return min(jittered, float(MAX_DELAY_SECONDS))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP-date (a past date gives 0); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.match(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a "-0000" zone parses as naive.
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    return max(0.0, (when - current).total_seconds())


def tier_for(remaining_seconds: float) -> int:
    """The largest retry tier not longer than `remaining_seconds` (the smallest tier for anything shorter).

    A delay of any length is waited out by hopping through tier topics, each hop no longer than what is left, so a
    message is never held back past its due time by more than the smallest tier.
    """
    fitting = [tier for tier in RETRY_TIERS if tier <= remaining_seconds]
    return fitting[-1] if fitting else RETRY_TIERS[0]


def tier_topic_suffix(tier: int) -> str:
    """The topic suffix of a retry tier: `1s`, `5s`, `30s`, `2m`, `10m`, `1h`, `6h`."""
    if tier not in RETRY_TIERS:
        raise ValueError(f"{tier} s is not a retry tier; tiers are {RETRY_TIERS}")
    if tier % 3600 == 0:
        return f"{tier // 3600}h"
    if tier % 60 == 0:
        return f"{tier // 60}m"
    return f"{tier}s"
