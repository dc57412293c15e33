"""Idempotency records are scoped to the caller, and a request is identified by method, path and body."""

from __future__ import annotations

from hookline_api.caller import Caller
from hookline_api.idempotency import record_id_for, request_hash_for


def test_the_same_key_of_different_callers_is_a_different_record() -> None:
    a = Caller(organization_id="org_1", kind="api_key", subject="key_a")
    b = Caller(organization_id="org_1", kind="api_key", subject="key_b")
    other_org = Caller(organization_id="org_2", kind="api_key", subject="key_a")
    assert len({record_id_for(c, "k") for c in (a, b, other_org)}) == 3
    assert record_id_for(a, "k") == record_id_for(a, "k") != record_id_for(a, "k2")


def test_a_request_is_its_method_path_and_body() -> None:
    base = request_hash_for("POST", "/v1/webhooks", b"{}")
    assert base == request_hash_for("POST", "/v1/webhooks", b"{}")
    assert base != request_hash_for("POST", "/v1/event-types", b"{}")
    assert base != request_hash_for("POST", "/v1/webhooks", b"{ }")
