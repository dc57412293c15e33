"""The dispatcher's trust store: the system CAs, plus the PEM file of HOOKLINE_EXTRA_CA_FILE."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from hookline_dispatcher.tls_trust import TrustError, delivery_ssl_context
from tests.integration.dispatcher.certificates import TestAuthority


def test_the_default_context_verifies_names_and_chains_from_tls_1_2_on() -> None:
    context = delivery_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_an_extra_ca_file_adds_its_ca(tmp_path: Path) -> None:
    authority = TestAuthority(tmp_path)
    before = delivery_ssl_context().cert_store_stats()["x509_ca"]
    after = delivery_ssl_context(authority.ca_file).cert_store_stats()["x509_ca"]
    assert after == before + 1


def test_a_missing_extra_ca_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="does not exist"):
        delivery_ssl_context(str(tmp_path / "missing.pem"))


def test_an_extra_ca_file_without_a_certificate_stops_the_start(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TrustError, match="no usable PEM"):
        delivery_ssl_context(str(garbage))
