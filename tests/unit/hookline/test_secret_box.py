"""AES-256-GCM sealing of secrets at rest, with key ids for master-key rotation."""

from __future__ import annotations

import base64

import pytest

from hookline.secret_box import SecretBox, SecretBoxError, generate_master_key

KEY = generate_master_key()


def test_a_sealed_secret_opens_to_the_same_text_and_does_not_contain_it() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("whsec_topsecret", context="wh_1")
    assert "topsecret" not in sealed
    assert sealed.startswith(f"v1:{box.current_key_id}:")
    assert box.open(sealed, context="wh_1") == "whsec_topsecret"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = SecretBox(KEY)
    assert box.seal("x") != box.seal("x")


def test_a_secret_sealed_for_one_owner_does_not_open_for_another() -> None:
    box = SecretBox(KEY)
    with pytest.raises(SecretBoxError):
        box.open(box.seal("s", context="wh_1"), context="wh_2")


def test_a_tampered_value_is_refused() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("s")
    head, payload = sealed.rsplit(":", 1)
    # Flip a bit of the decoded bytes: a changed base64 character may change only padding bits.
    raw = bytearray(base64.b64decode(payload))
    for index in (0, len(raw) // 2, len(raw) - 1):  # nonce, ciphertext, tag
        tampered = raw.copy()
        tampered[index] ^= 0x01
        with pytest.raises(SecretBoxError):
            box.open(f"{head}:{base64.b64encode(bytes(tampered)).decode()}")


def test_after_a_master_key_rotation_old_values_still_open_and_ask_for_a_reseal() -> None:
    old = SecretBox(KEY)
    sealed = old.seal("s")
    new = SecretBox(generate_master_key(), retired=[KEY])
    assert new.open(sealed) == "s"
    assert new.needs_reseal(sealed)
    assert not new.needs_reseal(new.seal("s"))


def test_a_value_sealed_by_an_unknown_key_is_refused() -> None:
    with pytest.raises(SecretBoxError, match="no master key"):
        SecretBox(generate_master_key()).open(SecretBox(KEY).seal("s"))


@pytest.mark.parametrize("bad", ["", "not base64!", "AAAA"])
def test_a_master_key_that_is_not_32_bytes_of_base64_is_refused(bad: str) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(bad)
