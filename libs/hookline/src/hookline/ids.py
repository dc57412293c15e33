"""Prefixed, time-sortable identifiers (`wh_01J…`): one prefix per kind of thing."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

from ulid import ULID

PREFIXES: Final = ("org", "wh", "evt", "dlv", "att", "key", "et")


def _check(prefix: str) -> None:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")


def new_id(prefix: str) -> str:
    """A new id: the prefix, an underscore and a ULID (26 Crockford base32 characters, sortable by time)."""
    _check(prefix)
    return f"{prefix}_{ULID()}"


def derived_id(prefix: str, *, at: datetime, seed: str) -> str:
    """The same id every time for the same (time, seed): a ULID whose random part is a hash of `seed`.

    Delivery ids are derived from (event id, webhook id), so a task produced twice after a crash keeps
    its id and the dispatcher's records converge instead of doubling.
    """
    _check(prefix)
    millis = int(at.timestamp() * 1000)
    randomness = hashlib.sha256(seed.encode()).digest()[:10]
    return f"{prefix}_{ULID.from_bytes(millis.to_bytes(6, 'big') + randomness)}"


def has_prefix(value: str, prefix: str) -> bool:
    """True when `value` looks like an id of that kind; cheap, used to answer 404 early."""
    return value.startswith(prefix + "_") and 1 < len(value) - len(prefix) <= 64
