"""Keeps the health of the webhooks this dispatcher owns in step with MongoDB, across restarts and rebalances.

- `take`: before a webhook's first task in this process (after a start, or after its partition came back), its
  saved streak and breaker are loaded: one `find_one` by `_id` per webhook per ownership, not per attempt.
- `run`: every `flush_seconds`, the states whose streak changed are saved in one batch; a webhook that keeps
  failing costs one write per interval, however many attempts fail.
- `hand_back`: when partitions are revoked, changed states are saved first and the webhooks last seen on those
  partitions are forgotten, so their next owner (or this process, if they come back) reads what was saved.
At shutdown the engine calls `flush` once more. A crash loses at most one interval of streak progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import structlog

from hookline_dispatcher.failure_streak_store import FailureStreakStore, StreakSnapshot
from hookline_dispatcher.webhook_state import WebhookStates

log = structlog.get_logger(__name__)


class WebhookOwnership:
    def __init__(self, states: WebhookStates, store: FailureStreakStore, *, flush_seconds: float) -> None:
        self._states = states
        self._store = store
        self._flush_seconds = flush_seconds
        self._partition_of: dict[str, int] = {}
        self._flush_lock = asyncio.Lock()

    async def take(self, webhook_id: str, partition: int) -> None:
        self._partition_of[webhook_id] = partition
        if self._states.known(webhook_id):
            return
        snapshot = await self._store.load(webhook_id)
        if self._states.known(webhook_id):
            return  # a concurrent first task of the same webhook got there first
        state = self._states.get(webhook_id)
        if snapshot is not None:
            state.restore_health(snapshot, time.time(), time.monotonic())
            log.info("failure streak taken over", webhook_id=webhook_id, failures=snapshot.failures)

    async def flush(self) -> None:
        async with self._flush_lock:
            wall, mono = time.time(), time.monotonic()
            changes: dict[str, StreakSnapshot | None] = {}
            for webhook_id, state in self._states.items():
                if state.streak.changed:
                    state.streak.changed = False
                    changes[webhook_id] = state.health_snapshot(wall, mono)
            try:
                await self._store.save(changes)
            except BaseException as exc:  # cancelled at shutdown too: the final flush must still see these
                log.warning("saving failure streaks failed; retrying later", error=str(exc)[:300])
                for webhook_id in changes:
                    if self._states.known(webhook_id):
                        self._states.get(webhook_id).streak.changed = True
                raise

    async def hand_back(self, partitions: Iterable[int]) -> None:
        revoked = set(partitions)
        try:
            await self.flush()
        except Exception:
            log.warning("handing back webhooks whose latest failure streak could not be saved")
        gone = [webhook_id for webhook_id, partition in self._partition_of.items() if partition in revoked]
        self._states.forget(gone)
        for webhook_id in gone:
            del self._partition_of[webhook_id]

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            with contextlib.suppress(Exception):  # logged by flush; the next tick tries again
                await self.flush()
