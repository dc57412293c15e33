"""Settings from the environment and `.env`, and prefixed sortable ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookline.ids import derived_id, has_prefix, new_id
from hookline.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_design(tmp_path: Path) -> None:
    settings = load_settings({}, dotenv=tmp_path / ".env")
    assert settings == Settings()
    assert settings.kafka_bootstrap == "localhost:9092"
    assert settings.mongo_url == "mongodb://localhost:27017/hookline"
    assert settings.allow_private_targets is False


def test_environment_overrides_the_dotenv_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nHOOKLINE_KAFKA_BOOTSTRAP="k1:9092"\nexport HOOKLINE_ALLOW_PRIVATE_TARGETS=true\n')
    settings = load_settings({"HOOKLINE_KAFKA_BOOTSTRAP": "k2:9092"}, dotenv=dotenv)
    assert settings.kafka_bootstrap == "k2:9092"
    assert settings.allow_private_targets is True


def test_a_bad_setting_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="delivery_timeout_seconds"):
        load_settings({"HOOKLINE_DELIVERY_TIMEOUT_SECONDS": "soon"}, dotenv=tmp_path / ".env")


def test_ids_carry_their_prefix_and_sort_by_creation_time() -> None:
    ids = [new_id("wh") for _ in range(50)]
    assert all(re.fullmatch(r"wh_[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)
    assert has_prefix(ids[0], "wh") and not has_prefix(ids[0], "evt")
    with pytest.raises(ValueError):
        new_id("nope")


def test_a_derived_id_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    first = derived_id("dlv", at=at, seed="evt_1:wh_1")
    assert first == derived_id("dlv", at=at, seed="evt_1:wh_1")
    assert first != derived_id("dlv", at=at, seed="evt_1:wh_2")
    assert re.fullmatch(r"dlv_[0-9A-HJKMNP-TV-Z]{26}", first)
    later = derived_id("dlv", at=at.replace(minute=1), seed="evt_1:wh_1")
    assert first < later
