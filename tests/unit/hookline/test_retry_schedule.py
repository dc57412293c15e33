"""Retry delays: the policies, their jitter and cap, Retry-After, and the retry tiers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import msgspec
import pytest

from hookline.retry_schedule import (
    MAX_DELAY_SECONDS,
    RETRY_TIERS,
    RetryPolicy,
    base_delay,
    next_delay,
    parse_retry_after,
    tier_for,
    tier_topic_suffix,
)

SIX_HOURS = 6 * 3600
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def test_the_default_policy_is_exponential_with_15_attempts_from_2_seconds() -> None:
    assert RetryPolicy() == RetryPolicy(policy="exponential", attempts=15, delay_seconds=2)
    assert MAX_DELAY_SECONDS == SIX_HOURS


def test_exponential_delays_double_from_the_base_delay() -> None:
    policy = RetryPolicy()
    assert [base_delay(policy, n) for n in range(1, 6)] == [2, 4, 8, 16, 32]


def test_exponential_delays_stay_within_20_percent_jitter() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    for attempt in range(1, 14):
        expected = min(2 * 2 ** (attempt - 1), SIX_HOURS)
        for _ in range(50):
            delay = next_delay(policy, attempt, rng=rng)
            assert delay is not None
            assert expected * 0.8 <= delay <= min(expected * 1.2, SIX_HOURS)


def test_jitter_actually_spreads_the_delays() -> None:
    rng = random.Random(1)
    delays = {next_delay(RetryPolicy(), 3, rng=rng) for _ in range(20)}
    assert len(delays) > 1


def test_delays_are_capped_at_six_hours_even_with_jitter() -> None:
    policy = RetryPolicy(attempts=30, delay_seconds=3600)
    assert base_delay(policy, 29) == SIX_HOURS
    rng = random.Random(3)
    for _ in range(100):
        delay = next_delay(policy, 29, rng=rng)
        assert delay is not None
        assert SIX_HOURS * 0.8 <= delay <= SIX_HOURS


def test_linear_delays_grow_by_the_base_delay() -> None:
    policy = RetryPolicy(policy="linear", delay_seconds=10)
    assert [base_delay(policy, n) for n in range(1, 5)] == [10, 20, 30, 40]
    rng = random.Random(5)
    for _ in range(50):
        delay = next_delay(policy, 3, rng=rng)
        assert delay is not None
        assert 24 <= delay <= 36


def test_fixed_delays_stay_the_same_within_10_percent_jitter() -> None:
    policy = RetryPolicy(policy="fixed", delay_seconds=60)
    assert {base_delay(policy, n) for n in range(1, 10)} == {60}
    rng = random.Random(9)
    for attempt in range(1, 10):
        delay = next_delay(policy, attempt, rng=rng)
        assert delay is not None
        assert 54 <= delay <= 66


def test_no_delay_is_given_once_the_attempts_are_used_up() -> None:
    policy = RetryPolicy(attempts=3)
    assert next_delay(policy, 1) is not None
    assert next_delay(policy, 2) is not None
    assert next_delay(policy, 3) is None
    assert next_delay(policy, 4) is None
    assert next_delay(RetryPolicy(attempts=1), 1) is None


def test_a_longer_retry_after_is_a_lower_bound() -> None:
    assert next_delay(RetryPolicy(), 1, retry_after=120, rng=random.Random(0)) == 120


def test_a_shorter_retry_after_does_not_shorten_the_delay() -> None:
    delay = next_delay(RetryPolicy(delay_seconds=100), 1, retry_after=5, rng=random.Random(0))
    assert delay is not None
    assert 80 <= delay <= 120


def test_retry_after_is_still_capped_at_six_hours() -> None:
    assert next_delay(RetryPolicy(), 1, retry_after=10 * SIX_HOURS) == SIX_HOURS


def test_retry_after_does_not_grant_extra_attempts() -> None:
    assert next_delay(RetryPolicy(attempts=2), 2, retry_after=30) is None


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        base_delay(RetryPolicy(), 0)


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy(attempts=0),
        RetryPolicy(attempts=31),
        RetryPolicy(delay_seconds=0),
        RetryPolicy(delay_seconds=3601),
    ],
)
def test_a_policy_out_of_range_is_refused(policy: RetryPolicy) -> None:
    with pytest.raises(ValueError, match="must be from"):
        policy.validate()


def test_policies_at_the_edges_of_the_ranges_are_valid() -> None:
    RetryPolicy(policy="linear", attempts=1, delay_seconds=1).validate()
    RetryPolicy(policy="fixed", attempts=30, delay_seconds=3600).validate()


def test_decoding_a_policy_applies_the_same_ranges() -> None:
    assert msgspec.json.decode(b'{"policy": "linear", "attempts": 5}', type=RetryPolicy) == RetryPolicy(
        policy="linear", attempts=5
    )
    for bad in (b'{"attempts": 31}', b'{"delay_seconds": 0}', b'{"policy": "random"}'):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(bad, type=RetryPolicy)


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 0 ", 0.0), ("1.5", 1.5)])
def test_retry_after_in_seconds_is_parsed(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=NOW) == 90.0


def test_retry_after_as_a_past_http_date_means_now() -> None:
    earlier = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, now=NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1e3", "Mon, 99 Foo 2026 99:99:99 GMT", "9" * 400])
def test_unusable_retry_after_values_are_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_the_retry_tiers_and_their_topic_suffixes() -> None:
    assert RETRY_TIERS == (1, 5, 30, 120, 600, 3600, 21600)
    assert [tier_topic_suffix(t) for t in RETRY_TIERS] == ["1s", "5s", "30s", "2m", "10m", "1h", "6h"]


def test_a_duration_that_is_not_a_tier_has_no_topic_suffix() -> None:
    with pytest.raises(ValueError, match="not a retry tier"):
        tier_topic_suffix(60)


@pytest.mark.parametrize(
    ("remaining", "tier"),
    [(0, 1), (0.5, 1), (1, 1), (4.9, 1), (5, 5), (29, 5), (30, 30), (119, 30), (600, 600), (7200, 3600)],
)
def test_the_tier_is_the_largest_one_that_fits_the_remaining_delay(remaining: float, tier: int) -> None:
    assert tier_for(remaining) == tier


def test_delays_longer_than_the_largest_tier_use_the_largest_tier() -> None:
    assert tier_for(SIX_HOURS) == 21600
    assert tier_for(10 * SIX_HOURS) == 21600


def test_hopping_through_tiers_adds_up_to_the_delay_without_overshooting() -> None:
    for delay in (1, 7, 95, 3725, 21599):
        remaining, hops = float(delay), 0
        while remaining >= RETRY_TIERS[0]:
            remaining -= tier_for(remaining)
            hops += 1
        assert 0 <= remaining < RETRY_TIERS[0]
        assert hops <= 30
