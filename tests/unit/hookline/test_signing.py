"""Delivery signatures for every scheme: published vectors, interoperability, rotation and tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook

from hookline.signing import (
    SCHEMES,
    SignatureError,
    generate_ed25519_keypair,
    generate_secret,
    public_key_for,
    sign,
    validate_secret,
    verify,
)

VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_SIGNING_KEY = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
VECTOR_PUBLIC_KEY = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="

BODY = b'{"id":"evt_1","type":"member.added","data":{"name":"Ada"}}'
NOW = 1_700_000_000


def _keys(scheme: str) -> tuple[str, str]:
    """(what the sender signs with, what the receiver verifies with) for a scheme."""
    if scheme == "ed25519":
        return generate_ed25519_keypair()
    secret = generate_secret(scheme)
    return secret, secret


def test_standard_signature_matches_the_standard_webhooks_v1_vector() -> None:
    headers = sign(VECTOR_BODY, VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == VECTOR_ID
    assert headers["webhook-timestamp"] == "1614265330"


def test_ed25519_signature_matches_the_standard_webhooks_v1a_vector() -> None:
    headers = sign(VECTOR_BODY, VECTOR_SIGNING_KEY, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, scheme="ed25519")
    assert headers["webhook-signature"] == (
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
    )
    verify(VECTOR_BODY, headers, VECTOR_PUBLIC_KEY, scheme="ed25519", now=VECTOR_TIMESTAMP)


def test_the_public_key_of_the_vector_signing_key_is_the_vector_public_key() -> None:
    assert public_key_for(VECTOR_SIGNING_KEY) == VECTOR_PUBLIC_KEY


def test_a_bare_32_byte_seed_signs_like_the_full_private_key() -> None:
    seed = base64.b64decode(VECTOR_SIGNING_KEY.removeprefix("whsk_"))[:32]
    bare = "whsk_" + base64.b64encode(seed).decode()
    full = sign(VECTOR_BODY, VECTOR_SIGNING_KEY, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, scheme="ed25519")
    from_seed = sign(VECTOR_BODY, bare, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, scheme="ed25519")
    assert from_seed["webhook-signature"] == full["webhook-signature"]


def test_a_private_key_whose_public_half_does_not_match_is_refused() -> None:
    raw = base64.b64decode(VECTOR_SIGNING_KEY.removeprefix("whsk_"))
    broken = "whsk_" + base64.b64encode(raw[:32] + bytes(32)).decode()
    with pytest.raises(ValueError, match="public half"):
        sign(BODY, broken, msg_id="evt_1", timestamp=NOW, scheme="ed25519")


def test_the_standard_webhooks_library_accepts_our_standard_signature() -> None:
    secret = generate_secret("standard")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=int(time.time()))
    assert Webhook(secret).verify(BODY, headers) == {"id": "evt_1", "type": "member.added", "data": {"name": "Ada"}}


def test_the_standard_webhooks_library_accepts_either_secret_during_a_rotation() -> None:
    new, old = generate_secret("standard"), generate_secret("standard")
    headers = sign(BODY, new, msg_id="evt_1", timestamp=int(time.time()), extra_secrets=[old])
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)


def test_every_delivery_carries_the_request_id_and_the_timestamp_in_milliseconds() -> None:
    for scheme in SCHEMES:
        secret, _ = _keys(scheme)
        headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme=scheme)
        assert headers["X-Webhook-Request-Id"] == "evt_1"
        assert headers["X-Webhook-Timestamp"] == str(NOW * 1000)
        assert headers["webhook-id"] == "evt_1"
        assert headers["webhook-timestamp"] == str(NOW)


def test_hmac_sha256_hex_is_the_hex_hmac_of_the_raw_body_keyed_by_the_secret_text() -> None:
    secret = generate_secret("hmac-sha256-hex")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme="hmac-sha256-hex")
    assert headers["X-Webhook-Signature"] == hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert "X-Webhook-Hmac" not in headers


def test_hmac_sha512_hex_is_the_hex_hmac_of_the_raw_body_and_names_its_algorithm() -> None:
    secret = generate_secret("hmac-sha512-hex")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme="hmac-sha512-hex")
    assert headers["X-Webhook-Hmac"] == hmac.new(secret.encode(), BODY, hashlib.sha512).hexdigest()
    assert headers["X-Webhook-Hmac-Algorithm"] == "sha512"
    assert "X-Webhook-Signature" not in headers


def test_hex_schemes_key_their_v1_signature_with_the_secret_text() -> None:
    secret = generate_secret("hmac-sha256-hex")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme="hmac-sha256-hex")
    expected = hmac.new(secret.encode(), f"evt_1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_signed_delivery_verifies(scheme: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    verify(BODY, headers, verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_header_names_are_matched_regardless_of_case(scheme: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    verify(BODY, {name.upper(): value for name, value in headers.items()}, verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_tampered_body_is_refused(scheme: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    with pytest.raises(SignatureError):
        verify(BODY.replace(b"Ada", b"Eve"), headers, verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_wrong_secret_is_refused(scheme: str) -> None:
    signing, _ = _keys(scheme)
    _, other = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    with pytest.raises(SignatureError):
        verify(BODY, headers, other, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_timestamp_older_than_the_tolerance_is_refused(scheme: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW - 301, scheme=scheme)
    with pytest.raises(SignatureError, match="too old"):
        verify(BODY, headers, verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_timestamp_further_ahead_than_the_tolerance_is_refused(scheme: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW + 301, scheme=scheme)
    with pytest.raises(SignatureError, match="too new"):
        verify(BODY, headers, verifying, scheme=scheme, now=NOW)


def test_a_timestamp_at_the_edge_of_the_tolerance_is_accepted() -> None:
    secret = generate_secret("standard")
    for skew in (-300, 300):
        headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW + skew)
        verify(BODY, headers, secret, now=NOW)


@pytest.mark.parametrize(
    ("scheme", "header"),
    [
        ("standard", "webhook-id"),
        ("standard", "webhook-timestamp"),
        ("standard", "webhook-signature"),
        ("ed25519", "webhook-id"),
        ("ed25519", "webhook-timestamp"),
        ("ed25519", "webhook-signature"),
        ("hmac-sha256-hex", "X-Webhook-Signature"),
        ("hmac-sha512-hex", "X-Webhook-Hmac"),
    ],
)
def test_a_missing_header_is_refused(scheme: str, header: str) -> None:
    signing, verifying = _keys(scheme)
    headers = sign(BODY, signing, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    del headers[header]
    with pytest.raises(SignatureError, match="missing"):
        verify(BODY, headers, verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", ["hmac-sha256-hex", "hmac-sha512-hex"])
def test_hex_schemes_without_any_timestamp_are_refused(scheme: str) -> None:
    secret = generate_secret(scheme)
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    del headers["webhook-timestamp"], headers["X-Webhook-Timestamp"]
    with pytest.raises(SignatureError, match="missing"):
        verify(BODY, headers, secret, scheme=scheme, now=NOW)


@pytest.mark.parametrize("scheme", ["hmac-sha256-hex", "hmac-sha512-hex"])
def test_hex_schemes_verify_with_only_the_hex_header_and_the_millisecond_timestamp(scheme: str) -> None:
    secret = generate_secret(scheme)
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW, scheme=scheme)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        del headers[name]
    verify(BODY, headers, secret, scheme=scheme, now=NOW)


def test_a_hex_delivery_with_a_forged_timestamp_is_refused() -> None:
    secret = generate_secret("hmac-sha256-hex")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW - 3600, scheme="hmac-sha256-hex")
    headers["webhook-timestamp"] = str(NOW)
    with pytest.raises(SignatureError, match="no matching signature"):
        verify(BODY, headers, secret, scheme="hmac-sha256-hex", now=NOW)


def test_a_malformed_timestamp_is_refused() -> None:
    secret = generate_secret("standard")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW)
    headers["webhook-timestamp"] = f"+{NOW}"
    with pytest.raises(SignatureError, match="malformed"):
        verify(BODY, headers, secret, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_rotation_carries_two_signatures_and_either_secret_verifies(scheme: str) -> None:
    new_signing, new_verifying = _keys(scheme)
    old_signing, old_verifying = _keys(scheme)
    headers = sign(BODY, new_signing, msg_id="evt_1", timestamp=NOW, scheme=scheme, extra_secrets=[old_signing])
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify(BODY, headers, new_verifying, scheme=scheme, now=NOW)
    verify(BODY, headers, old_verifying, scheme=scheme, now=NOW)


@pytest.mark.parametrize(
    ("scheme", "header"), [("hmac-sha256-hex", "X-Webhook-Signature"), ("hmac-sha512-hex", "X-Webhook-Hmac")]
)
def test_a_hex_rotation_lists_the_new_secrets_value_first(scheme: str, header: str) -> None:
    new, old = generate_secret(scheme), generate_secret(scheme)
    headers = sign(BODY, new, msg_id="evt_1", timestamp=NOW, scheme=scheme, extra_secrets=[old])
    digest = hashlib.sha256 if scheme == "hmac-sha256-hex" else hashlib.sha512
    assert headers[header].split(" ") == [
        hmac.new(new.encode(), BODY, digest).hexdigest(),
        hmac.new(old.encode(), BODY, digest).hexdigest(),
    ]


def test_unknown_signature_versions_are_skipped_not_fatal() -> None:
    secret = generate_secret("standard")
    headers = sign(BODY, secret, msg_id="evt_1", timestamp=NOW)
    headers["webhook-signature"] = "v2,abc v1,!!notbase64 " + headers["webhook-signature"]
    verify(BODY, headers, secret, now=NOW)


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown signature scheme"):
        sign(BODY, generate_secret("standard"), msg_id="evt_1", timestamp=NOW, scheme="md5")


def test_generated_secrets_have_the_documented_shapes() -> None:
    for scheme in ("standard", "hmac-sha256-hex", "hmac-sha512-hex"):
        secret = generate_secret(scheme)
        validate_secret(secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    private, public = generate_ed25519_keypair()
    assert private.startswith("whsk_") and len(base64.b64decode(private[5:])) == 64
    assert public.startswith("whpk_") and len(base64.b64decode(public[5:])) == 32
    assert public_key_for(private) == public
    assert generate_secret("ed25519").startswith("whsk_")


def test_generated_secrets_differ_every_time() -> None:
    assert generate_secret("standard") != generate_secret("standard")


@pytest.mark.parametrize("length", [24, 32, 64])
def test_a_caller_chosen_secret_of_24_to_64_bytes_is_valid(length: int) -> None:
    validate_secret("whsec_" + base64.b64encode(bytes(range(length))).decode())


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.b64encode(bytes(23)).decode(),
        "whsec_" + base64.b64encode(bytes(65)).decode(),
        base64.b64encode(bytes(32)).decode(),
        "whsec_not base64!",
        "whsec_",
    ],
)
def test_a_caller_chosen_secret_outside_the_rules_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="signing secret"):
        validate_secret(secret)
