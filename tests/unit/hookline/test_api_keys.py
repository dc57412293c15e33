"""API keys: format, hashing, scopes."""

from __future__ import annotations

import re

import pytest

from hookline import api_keys


def test_a_new_key_has_the_prefix_and_at_least_32_url_safe_characters() -> None:
    key = api_keys.generate_api_key()
    assert re.fullmatch(r"hl_live_[A-Za-z0-9_-]{32,}", key)
    assert api_keys.looks_like_api_key(key)


def test_keys_are_unique() -> None:
    assert len({api_keys.generate_api_key() for _ in range(1000)}) == 1000


def test_the_stored_hash_matches_only_its_key() -> None:
    key = api_keys.generate_api_key()
    stored = api_keys.hash_api_key(key)
    assert key not in stored
    assert api_keys.matches(key, stored)
    assert not api_keys.matches(api_keys.generate_api_key(), stored)


def test_scopes_parse_from_a_comma_list_and_unknown_ones_are_refused() -> None:
    assert api_keys.parse_scopes("webhooks.manage, events.publish") == {"webhooks.manage", "events.publish"}
    with pytest.raises(ValueError, match="unknown scopes: admin"):
        api_keys.parse_scopes("webhooks.read,admin")
    with pytest.raises(ValueError):
        api_keys.parse_scopes(" , ")
