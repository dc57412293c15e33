"""What the receiver saw, per (event, webhook) pair: delivered at least once, duplicates, one `webhook-id` each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import msgspec

from hookline.signing import SignatureError, verify
from tests.receiver import Received, Receiver

# Verified after the fact, possibly minutes after sending: freshness is not what these tests check.
TOLERANCE_SECONDS = 3600


class _Body(msgspec.Struct):
    id: str
    data: dict[str, object]


_decoder = msgspec.json.Decoder(_Body)


@dataclass
class DeliveryTally:
    """Reads a receiver's requests incrementally. A pair is delivered once a request for it was answered 2xx and
    its signature verified; every further such request for the pair is a duplicate. Failed answers (the
    receiver's own 5xx) are retries, not duplicates."""

    receiver: Receiver
    secrets: dict[str, str]  # path -> signing secret
    events: int
    read: int = 0
    delivered: Counter[tuple[int, str]] = field(default_factory=Counter)
    webhook_ids: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    event_ids: dict[int, set[str]] = field(default_factory=dict)
    failed_answers: int = 0
    unverified: list[str] = field(default_factory=list)
    foreign: int = 0

    @property
    def expected(self) -> int:
        return self.events * len(self.secrets)

    def update(self) -> DeliveryTally:
        fresh = self.receiver.received_since(self.read)
        self.read += len(fresh)
        for request in fresh:
            self._take(request)
        return self

    def _take(self, request: Received) -> None:
        secret = self.secrets.get(request.path)
        if secret is None:
            self.foreign += 1
            return
        body = _decoder.decode(request.body)
        seq = body.data["seq"]
        assert isinstance(seq, int)
        pair = (seq, request.path)
        webhook_id = request.headers.get("webhook-id", "")
        self.webhook_ids.setdefault(pair, set()).add(webhook_id)
        self.event_ids.setdefault(seq, set()).add(body.id)
        try:
            verify(request.body, request.headers, secret, tolerance_seconds=TOLERANCE_SECONDS)
        except SignatureError as exc:
            self.unverified.append(f"{request.path} seq={seq}: {exc}")
            return
        if 200 <= request.status < 300:
            self.delivered[pair] += 1
        else:
            self.failed_answers += 1

    @property
    def pairs_delivered(self) -> int:
        return len(self.delivered)

    @property
    def successes(self) -> int:
        return sum(self.delivered.values())

    @property
    def duplicates(self) -> int:
        return self.successes - self.pairs_delivered

    def complete(self) -> bool:
        return self.update().pairs_delivered >= self.expected

    def missing(self, limit: int = 10) -> list[tuple[int, str]]:
        wanted = ((seq, path) for seq in range(self.events) for path in self.secrets)
        return [pair for pair in wanted if pair not in self.delivered][:limit]

    def problems(self) -> list[str]:
        """Everything that breaks the contract: undelivered pairs, bad signatures, a pair under several ids."""
        found = []
        if self.pairs_delivered < self.expected:
            found.append(f"{self.expected - self.pairs_delivered} pairs never delivered, e.g. {self.missing()}")
        if self.unverified:
            found.append(f"{len(self.unverified)} deliveries failed verification, e.g. {self.unverified[:3]}")
        split = {pair: ids for pair, ids in self.webhook_ids.items() if len(ids) != 1}
        if split:
            found.append(f"{len(split)} pairs arrived under several webhook-ids, e.g. {list(split.items())[:3]}")
        events_split = {seq: ids for seq, ids in self.event_ids.items() if len(ids) != 1}
        if events_split:
            found.append(f"{len(events_split)} events arrived under several event ids")
        return found
