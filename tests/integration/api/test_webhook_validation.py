"""Every rule of the webhook fields: a bad value answers 422 (400 for a body that is not JSON), naming the field."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.api.conftest import WEBHOOK, Tenant

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
GOOD_OIDC = {
    "auth_method": "client_secret",
    "client_id": "hookline",
    "token_endpoint": "https://idp.example.invalid/token",
}

BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("missing url", {"events": ["member.added"]}, "url: is required"),
    ("missing events", {"url": WEBHOOK["url"]}, "events: is required"),
    ("http url", {"url": "http://hooks.example.invalid/x"}, "url"),
    ("ftp url", {"url": "ftp://hooks.example.invalid/x"}, "url"),
    ("loopback literal", {"url": "https://127.0.0.1/x"}, "url"),
    ("loopback in decimal", {"url": "https://2130706433/x"}, "url"),
    ("private literal", {"url": "https://10.1.2.3/x"}, "url"),
    ("link-local literal", {"url": "https://169.254.169.254/latest/meta-data"}, "url"),
    ("ipv6 loopback", {"url": "https://[::1]/x"}, "url"),
    ("localhost", {"url": "https://localhost/x"}, "url"),
    ("user info", {"url": "https://user:pw@hooks.example.invalid/x"}, "url"),
    ("url too long", {"url": "https://hooks.example.invalid/" + "a" * 2030}, "url"),
    ("url not a string", {"url": 42}, "url"),
    ("no events", {"events": []}, "events"),
    ("too many events", {"events": [f"member.t{i}" for i in range(101)]}, "events"),
    ("unknown event type", {"events": ["member.exploded"]}, "events[0]"),
    ("bad wildcard", {"events": ["member.*.added"]}, "events[0]"),
    ("star with others", {"events": ["*", "member.added"]}, "events"),
    ("description too long", {"description": "d" * 501}, "description"),
    ("secret without prefix", {"secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}, "secret"),
    ("secret too short", {"secret": "whsec_QUJDREVG"}, "secret"),
    ("secret too long", {"secret": "whsec_" + "QUJD" * 30}, "secret"),
    ("secret not base64", {"secret": "whsec_!!!!notbase64!!!!notbase64!!!!"}, "secret"),
    ("secret with ed25519", {"secret": "whsec_" + "QUJD" * 8, "signature_scheme": "ed25519"}, "secret"),
    ("unknown scheme", {"signature_scheme": "md5"}, "signature_scheme"),
    ("too many headers", {"custom_headers": {f"X-H{i}": "v" for i in range(21)}}, "custom_headers"),
    ("connection header", {"custom_headers": {"Connection": "close"}}, "custom_headers.Connection"),
    ("keep-alive header", {"custom_headers": {"keep-alive": "5"}}, "custom_headers.keep-alive"),
    (
        "transfer-encoding header",
        {"custom_headers": {"Transfer-Encoding": "chunked"}},
        "custom_headers.Transfer-Encoding",
    ),
    ("te header", {"custom_headers": {"TE": "trailers"}}, "custom_headers.TE"),
    ("trailer header", {"custom_headers": {"Trailer": "x"}}, "custom_headers.Trailer"),
    ("upgrade header", {"custom_headers": {"Upgrade": "h2c"}}, "custom_headers.Upgrade"),
    ("proxy header", {"custom_headers": {"Proxy-Authorization": "x"}}, "custom_headers.Proxy-Authorization"),
    ("host header", {"custom_headers": {"Host": "evil.example"}}, "custom_headers.Host"),
    ("content-length header", {"custom_headers": {"Content-Length": "1"}}, "custom_headers.Content-Length"),
    ("bad header name", {"custom_headers": {"X Bad": "v"}}, "custom_headers.X Bad"),
    ("header value with a line break", {"custom_headers": {"X-A": "a\r\nX-B: b"}}, "custom_headers.X-A"),
    ("duplicate header", {"custom_headers": {"X-A": "1", "x-a": "2"}}, "custom_headers.x-a"),
    ("zero attempts", {"retry_policy": {"attempts": 0}}, "retry_policy.attempts"),
    ("31 attempts", {"retry_policy": {"attempts": 31}}, "retry_policy.attempts"),
    ("zero delay", {"retry_policy": {"delay_seconds": 0}}, "retry_policy.delay_seconds"),
    ("delay over an hour", {"retry_policy": {"delay_seconds": 3601}}, "retry_policy.delay_seconds"),
    ("unknown policy", {"retry_policy": {"policy": "random"}}, "retry_policy.policy"),
    ("zero rate limit", {"rate_limit_per_second": 0}, "rate_limit_per_second"),
    ("negative rate limit", {"rate_limit_per_second": -1}, "rate_limit_per_second"),
    ("bad include", {"include": "a,,b"}, "include"),
    ("empty session", {"session_id": ""}, "session_id"),
    ("active not a bool", {"active": "yes"}, "active"),
    ("unknown field", {"colour": "blue"}, "colour: is not a known field"),
    ("oidc without secret", {"oidc": GOOD_OIDC}, "oidc.client_secret"),
    (
        "oidc secret with private_key_jwt",
        {"oidc": {**GOOD_OIDC, "auth_method": "private_key_jwt", "client_secret": "s"}},
        "oidc.client_secret",
    ),
    (
        "oidc http endpoint",
        {"oidc": {**GOOD_OIDC, "client_secret": "s", "token_endpoint": "http://idp.example.invalid/t"}},
        "oidc.token_endpoint",
    ),
    ("oidc bad method", {"oidc": {**GOOD_OIDC, "auth_method": "basic"}}, "oidc.auth_method"),
    (
        "oidc missing client id",
        {"oidc": {"auth_method": "client_secret", "token_endpoint": "https://idp.example.invalid/t"}},
        "oidc.client_id: is required",
    ),
    (
        "oidc zero ttl",
        {"oidc": {**GOOD_OIDC, "client_secret": "s", "access_token_ttl_seconds": 0}},
        "oidc.access_token_ttl_seconds",
    ),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_a_bad_field_is_refused_with_a_message_naming_it(
    client: Client, tenant: Tenant, case: str, change: dict[str, Any], field: str
) -> None:
    body = {**WEBHOOK, **change}
    for absent in ("url", "events"):
        if absent not in change and case == f"missing {absent}":
            body.pop(absent)
    response = await client.post("/v1/webhooks", json=body, headers=tenant.manage)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"], error
    assert "Traceback" not in response.text


def name_resolving_to_a_non_public_address() -> str:
    """A host name (not `localhost`, which is refused without resolving) that this machine resolves to a loopback
    or private address: the host's own name nearly always does, through /etc/hosts or the container network."""
    for name in (socket.gethostname(), "ip6-localhost", "ip6-loopback", "localhost.localdomain"):
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if addresses and all(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
            return name
    raise AssertionError("no host name on this machine resolves to a non-public address")


async def test_a_name_that_resolves_to_a_non_public_address_is_refused(client: Client, tenant: Tenant) -> None:
    name = name_resolving_to_a_non_public_address()
    response = await client.post("/v1/webhooks", json={**WEBHOOK, "url": f"https://{name}/x"}, headers=tenant.manage)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(f"url: {name.lower()} resolves to a non-public address")


async def test_a_body_that_is_not_json_is_a_400(client: Client, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/webhooks", content=b"{not json", headers={**tenant.manage, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


async def test_limits_are_inclusive(client: Client, tenant: Tenant) -> None:
    body = {
        **WEBHOOK,
        "url": "https://hooks.example.invalid/" + "a" * (2048 - len("https://hooks.example.invalid/")),
        "events": ["member.added", "member.removed", "invoice.paid", *[f"t{i}.*" for i in range(97)]],
        "description": "d" * 500,
        "secret": "whsec_" + "QUJD" * 16,  # 48 bytes
        "custom_headers": {f"X-H{i}": "v" for i in range(20)},
        "retry_policy": {"policy": "linear", "attempts": 30, "delay_seconds": 3600},
        "rate_limit_per_second": 0.5,
        "include": "user_id, email",
        "oidc": {**GOOD_OIDC, "client_secret": "s3cr3t", "scope": "hooks", "access_token_ttl_seconds": 3600},
    }
    response = await client.post("/v1/webhooks", json=body, headers=tenant.manage)
    assert response.status_code == 201, response.text
    out = response.json()
    assert len(out["events"]) == 100 and out["include"] == "user_id,email"
    assert out["oidc"]["client_secret_set"] is True and "client_secret" not in out["oidc"]
    smallest = await client.post(
        "/v1/webhooks",
        json={**WEBHOOK, "secret": "whsec_" + "QUJD" * 8, "retry_policy": {"attempts": 1, "delay_seconds": 1}},
        headers=tenant.manage,
    )
    assert smallest.status_code == 201, smallest.text
    largest = await client.post(
        "/v1/webhooks", json={**WEBHOOK, "secret": "whsec_" + "QUJD" * 21 + "QQ=="}, headers=tenant.manage
    )
    assert largest.status_code == 201, largest.text  # 64 bytes


async def test_a_name_that_does_not_resolve_yet_is_accepted(client: Client, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/webhooks", json={**WEBHOOK, "url": "https://not-yet-there.invalid/h"}, headers=tenant.manage
    )
    assert response.status_code == 201


async def test_prefix_patterns_and_star_are_accepted_without_a_known_type(client: Client, tenant: Tenant) -> None:
    for events in (["*"], ["future.*"], ["member.*", "member.added"]):
        response = await client.post("/v1/webhooks", json={**WEBHOOK, "events": events}, headers=tenant.manage)
        assert response.status_code == 201, response.text
        assert response.json()["events"] == events


async def test_patch_applies_the_same_rules(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/v1/webhooks", json=WEBHOOK, headers=tenant.manage)).json()
    path = f"/v1/webhooks/{created['id']}"
    for change, field in [
        ({"url": "https://10.0.0.1/x"}, "url"),
        ({"events": ["nope.nope"]}, "events[0]"),
        ({"custom_headers": {"Connection": "x"}}, "custom_headers.Connection"),
        ({"signature_scheme": "ed25519"}, "signature_scheme"),
        ({"secret": "whsec_" + "QUJD" * 8}, "secret"),
        ({"status": "paused"}, "status"),
        ({"oidc": GOOD_OIDC}, "oidc.client_secret"),
    ]:
        response = await client.patch(path, json=change, headers=tenant.manage)
        assert response.status_code == 422, (change, response.text)
        assert field in response.json()["error"]["message"]
    # A stored OIDC secret is kept when a PATCH leaves the write-only field out.
    with_oidc = await client.patch(path, json={"oidc": {**GOOD_OIDC, "client_secret": "s"}}, headers=tenant.manage)
    assert with_oidc.json()["oidc"]["client_secret_set"] is True
    kept = await client.patch(path, json={"oidc": {**GOOD_OIDC, "scope": "x"}}, headers=tenant.manage)
    assert kept.status_code == 200 and kept.json()["oidc"]["client_secret_set"] is True
    removed = await client.patch(path, json={"oidc": None}, headers=tenant.manage)
    assert removed.json()["oidc"] is None


async def test_idempotency_key_longer_than_255_is_refused(client: Client, tenant: Tenant) -> None:
    response = await client.post("/v1/webhooks", json=WEBHOOK, headers={**tenant.manage, "Idempotency-Key": "k" * 256})
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["error"]["message"]
