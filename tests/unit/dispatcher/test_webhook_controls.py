"""The token bucket, circuit breaker and failure streak, driven by an explicit clock."""

from __future__ import annotations

import pytest

from hookline_dispatcher.circuit_breaker import CircuitBreaker
from hookline_dispatcher.disable_rule import FailureStreak
from hookline_dispatcher.failure_streak_store import StreakSnapshot
from hookline_dispatcher.options import DispatcherOptions
from hookline_dispatcher.token_bucket import TokenBucket
from hookline_dispatcher.webhook_state import WebhookState


def test_the_bucket_spaces_starts_at_the_rate_once_the_burst_is_spent() -> None:
    bucket = TokenBucket(10.0, burst=1.0, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_the_bucket_refills_over_time_up_to_its_burst() -> None:
    bucket = TokenBucket(2.0, burst=2.0, now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == pytest.approx(0.5)


def test_the_bucket_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0.0)


def test_the_breaker_opens_after_the_threshold_and_lets_one_probe_through_after_the_cooldown() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=10.0, max_cooldown=40.0)
    for now in (0.0, 1.0):
        assert breaker.allow(now)
        breaker.record_failure(now)
    assert not breaker.is_open
    breaker.record_failure(2.0)
    assert breaker.is_open
    assert not breaker.allow(5.0)
    assert breaker.retry_at(5.0) == 12.0
    assert breaker.allow(12.0)  # the probe
    assert not breaker.allow(12.5)  # only one probe at a time
    breaker.record_failure(13.0)
    assert breaker.open_until == 33.0  # the cooldown doubled
    assert breaker.allow(33.0)
    breaker.record_success()
    assert not breaker.is_open and breaker.allow(33.1) and breaker.allow(33.2)


def test_the_breaker_cooldown_never_exceeds_its_maximum() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=10.0, max_cooldown=15.0)
    breaker.record_failure(0.0)
    now = 10.0
    for _ in range(4):
        assert breaker.allow(now)
        breaker.record_failure(now)
        assert breaker.open_until is not None and breaker.open_until - now <= 15.0
        now = breaker.open_until


def test_the_streak_disables_after_too_many_failures_in_a_row() -> None:
    streak = FailureStreak(max_seconds=1e9, max_failures=3)
    assert streak.record_failure(0.0) is None
    assert streak.record_failure(1.0) is None
    streak.record_success()
    assert streak.record_failure(2.0) is None
    assert streak.record_failure(3.0) is None
    assert streak.record_failure(4.0) == "disabled after 3 failed deliveries in a row"


def test_the_streak_disables_when_every_attempt_failed_for_the_whole_period() -> None:
    streak = FailureStreak(max_seconds=5 * 86400, max_failures=1000)
    assert streak.record_failure(0.0) is None
    assert streak.record_failure(4 * 86400) is None
    assert streak.record_failure(5 * 86400) == "disabled: every delivery attempt failed for 5.0 days"


def test_the_disable_spends_the_streak_and_every_change_is_marked_for_saving() -> None:
    streak = FailureStreak(max_seconds=1e9, max_failures=2)
    streak.record_success()
    assert not streak.changed  # nothing to save: there was no streak
    streak.record_failure(0.0)
    assert streak.changed
    streak.changed = False
    assert streak.record_failure(1.0) is not None
    assert (streak.failures, streak.started_at, streak.changed) == (0, None, True)
    assert streak.record_failure(2.0) is None  # a webhook enabled again starts a whole new streak


def test_a_restored_streak_keeps_its_start_and_count() -> None:
    streak = FailureStreak(max_seconds=100.0, max_failures=1000)
    streak.restore(failures=3, started_at=10.0)
    assert streak.record_failure(50.0) is None and streak.failures == 4
    assert streak.record_failure(110.0) == "disabled: every delivery attempt failed for 100 seconds"


def test_a_webhook_state_snapshot_moves_its_breaker_between_clocks() -> None:
    options = DispatcherOptions(breaker_threshold=2, breaker_cooldown_seconds=10.0, breaker_max_cooldown_seconds=40.0)
    state = WebhookState(options)
    assert state.health_snapshot(wall=1000.0, mono=5.0) is None
    for mono in (5.0, 6.0):
        state.breaker.record_failure(mono)
        state.streak.record_failure(1000.0 + mono - 5.0)
    snapshot = state.health_snapshot(wall=1001.0, mono=6.0)
    assert snapshot == StreakSnapshot(
        failures=2, started_at=1000.0, breaker_failures=2, breaker_open_until=1011.0, breaker_cooldown_seconds=10.0
    )
    successor = WebhookState(options)
    successor.restore_health(snapshot, wall=1003.0, mono=500.0)  # another process: another monotonic clock
    assert successor.breaker.is_open and not successor.breaker.allow(507.9)
    assert successor.breaker.allow(508.0)  # the probe, when the saved pause ends
    assert not successor.breaker.allow(508.1)
    assert (successor.streak.failures, successor.streak.started_at) == (2, 1000.0)
