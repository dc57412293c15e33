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
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._flush_lock = asyncio.Lock()

    async def take(self, webhook_id: str, partition: int) -> None:
        """Returns once the webhook's state is loaded. The first tasks of a webhook all wait for one load and
        resume in the order they came, so they reach the webhook's slots (and rate limit) in offset order."""
        self._partition_of[webhook_id] = partition
        if self._states.known(webhook_id):
            return
        loading = self._loading.get(webhook_id)
        if loading is None:
            loading = self._loading[webhook_id] = asyncio.create_task(self._load(webhook_id))
            loading.add_done_callback(lambda done: self._loaded(webhook_id, done))
        await asyncio.shield(loading)

    def _loaded(self, webhook_id: str, task: asyncio.Task[None]) -> None:
        if self._loading.get(webhook_id) is task:
            del self._loading[webhook_id]

    def cancel_loads(self) -> None:
        """At shutdown: loads still waiting for MongoDB are given up (their tasks were handed back)."""
        for task in self._loading.values():
            task.cancel()

    async def _load(self, webhook_id: str) -> None:
        delay = 0.2
        while True:
            try:
                snapshot = await self._store.load(webhook_id)
                break
            except Exception as exc:  # MongoDB away: the task could not store its outcome either, so wait
                log.warning("loading a failure streak failed; retrying", error=str(exc)[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
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
            loading = self._loading.pop(webhook_id, None)
            if loading is not None:
                loading.cancel()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            with contextlib.suppress(Exception):  # logged by flush; the next tick tries again
                await self.flush()
