"""Per-partition offset tracking for out-of-order completion: commit only up to the lowest unfinished offset."""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """The offsets of one partition taken in order and finished in any order.

    Offsets are added in increasing order (as the consumer reads them). `committable()` is the offset to commit:
    the lowest unfinished offset, or one past the highest finished when nothing is pending.
    """

    def __init__(self) -> None:
        self._taken: deque[int] = deque()
        self._finished: set[int] = set()
        self._next_commit: int | None = None
        self.revoked = False

    def take(self, offset: int) -> None:
        if self._taken and offset <= self._taken[-1]:
            raise ValueError(f"offset {offset} taken out of order")
        self._taken.append(offset)

    def finish(self, offset: int) -> None:
        self._finished.add(offset)
        while self._taken and self._taken[0] in self._finished:
            done = self._taken.popleft()
            self._finished.discard(done)
            self._next_commit = done + 1

    @property
    def unfinished(self) -> int:
        return len(self._taken) - len(self._finished)

    def committable(self) -> int | None:
        """The offset to commit (the next one to read), or None when nothing has finished yet."""
        return self._next_commit


class OffsetTracker:
    """Every assigned partition's offsets; a revoked partition's state is dropped and its late finishes ignored."""

    def __init__(self) -> None:
        self._partitions: dict[object, PartitionOffsets] = {}
        self._committed: dict[object, int] = {}

    def partition(self, key: object) -> PartitionOffsets:
        state = self._partitions.get(key)
        if state is None:
            state = self._partitions[key] = PartitionOffsets()
        return state

    def drop(self, key: object) -> None:
        state = self._partitions.pop(key, None)
        if state is not None:
            state.revoked = True
        self._committed.pop(key, None)

    def keys(self) -> list[object]:
        return list(self._partitions)

    def unfinished(self, keys: list[object] | None = None) -> int:
        chosen = self._partitions if keys is None else {k: self._partitions[k] for k in keys if k in self._partitions}
        return sum(state.unfinished for state in chosen.values())

    def to_commit(self, keys: list[object] | None = None) -> dict[object, int]:
        """Offsets that moved since the last `mark_committed`, per partition."""
        wanted = self._partitions if keys is None else {k: self._partitions[k] for k in keys if k in self._partitions}
        result: dict[object, int] = {}
        for key, state in wanted.items():
            offset = state.committable()
            if offset is not None and offset != self._committed.get(key):
                result[key] = offset
        return result

    def mark_committed(self, offsets: dict[object, int]) -> None:
        for key, offset in offsets.items():
            if key in self._partitions:
                self._committed[key] = offset
