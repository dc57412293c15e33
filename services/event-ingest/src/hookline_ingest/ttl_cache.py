"""A small in-process cache whose entries expire after a fixed time (no background task)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at > self._ttl:
            del self._entries[key]
            return None
        return value

    def age(self, key: K) -> float | None:
        entry = self._entries.get(key)
        return None if entry is None else self._clock() - entry[0]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self._max and key not in self._entries:
            # Dropping the oldest insertion keeps memory bounded; a miss only costs one lookup.
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock(), value)
