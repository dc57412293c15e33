"""Offsets finished out of order commit only up to the lowest unfinished one."""

from __future__ import annotations

import pytest

from hookline_dispatcher.offset_tracker import OffsetTracker, PartitionOffsets


def test_nothing_is_committable_before_the_first_offset_finishes() -> None:
    offsets = PartitionOffsets()
    for n in (10, 11, 12):
        offsets.take(n)
    offsets.finish(11)
    offsets.finish(12)
    assert offsets.committable() is None
    assert offsets.unfinished == 1


def test_the_commit_point_stops_at_the_lowest_unfinished_offset() -> None:
    offsets = PartitionOffsets()
    for n in range(5):
        offsets.take(n)
    offsets.finish(0)
    offsets.finish(2)
    assert offsets.committable() == 1
    offsets.finish(1)
    assert offsets.committable() == 3
    offsets.finish(4)
    offsets.finish(3)
    assert offsets.committable() == 5
    assert offsets.unfinished == 0


def test_offsets_must_be_taken_in_order() -> None:
    offsets = PartitionOffsets()
    offsets.take(5)
    with pytest.raises(ValueError, match="out of order"):
        offsets.take(5)


def test_only_moved_partitions_are_committed_again() -> None:
    tracker = OffsetTracker()
    a, b = tracker.partition("a"), tracker.partition("b")
    a.take(0)
    b.take(0)
    a.finish(0)
    assert tracker.to_commit() == {"a": 1}
    tracker.mark_committed({"a": 1})
    assert tracker.to_commit() == {}
    b.finish(0)
    assert tracker.to_commit() == {"b": 1}


def test_a_dropped_partition_is_forgotten_and_marked_revoked() -> None:
    tracker = OffsetTracker()
    old = tracker.partition("a")
    old.take(7)
    tracker.drop("a")
    assert old.revoked
    old.finish(7)
    assert tracker.to_commit() == {}
    assert tracker.partition("a") is not old
