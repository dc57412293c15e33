"""The field rules of webhooks, as plain functions."""

from __future__ import annotations

import pytest

from hookline_api.errors import ValidationFailed
from hookline_api.webhook_rules import checked_events, checked_headers, checked_include, checked_secret

KNOWN = {"member.added", "member.removed", "webhook.test"}


def test_events_are_deduplicated_in_order() -> None:
    assert checked_events(["member.added", "member.*", "member.added"], KNOWN) == ["member.added", "member.*"]


@pytest.mark.parametrize(
    ("events", "field"),
    [
        (["nope.x"], "events[0]"),
        (["member.added", "a*"], "events[1]"),
        (["*", "member.added"], "events"),
        ([".*"], "events[0]"),
    ],
)
def test_bad_events_name_the_entry(events: list[str], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        checked_events(events, KNOWN)
    assert caught.value.message.startswith(f"{field}:")


def test_include_is_normalised() -> None:
    assert checked_include("*") == "*" and checked_include("identifiers") == "identifiers"
    assert checked_include(" id , email ,id") == "id,email"
    with pytest.raises(ValidationFailed):
        checked_include("id,,email")


@pytest.mark.parametrize(
    "name", ["Connection", "KEEP-ALIVE", "proxy-anything", "TE", "Trailer", "Upgrade", "Host", "content-length"]
)
def test_hop_by_hop_headers_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        checked_headers({name: "x"})
    assert caught.value.details["fields"][0]["field"] == f"custom_headers.{name}"


def test_ordinary_headers_pass() -> None:
    headers = {"X-Team": "crm", "Authorization": "Bearer abc"}
    assert checked_headers(headers) == headers


def test_secrets_follow_the_scheme() -> None:
    checked_secret("whsec_" + "QUJD" * 8, "standard")
    checked_secret(None, "ed25519")
    with pytest.raises(ValidationFailed):
        checked_secret("whsec_" + "QUJD" * 8, "ed25519")
    with pytest.raises(ValidationFailed):
        checked_secret("whsec_QUJD", "hmac-sha256-hex")
