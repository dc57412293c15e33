"""Which certificate authorities the dispatcher trusts when it connects to a webhook over HTTPS.

The operating system's store by default (what `ssl.create_default_context()` loads: the OpenSSL default paths,
which `SSL_CERT_FILE` / `SSL_CERT_DIR` replace), falling back to certifi's Mozilla bundle only where the system
has no store at all (a bare container image). `HOOKLINE_EXTRA_CA_FILE` adds the CAs of a PEM file on top, for a
private CA in front of an internal receiver, or a test's self-signed CA.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi  # installed with httpx


class TrustError(ValueError):
    """The extra CA file is missing or holds no usable certificate; the dispatcher refuses to start."""


def system_store_present() -> bool:
    paths = ssl.get_default_verify_paths()
    if paths.cafile is not None and Path(paths.cafile).is_file():
        return True
    return paths.capath is not None and Path(paths.capath).is_dir() and any(Path(paths.capath).iterdir())


def delivery_ssl_context(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies certificates and host names (TLS 1.2 or newer) against the trusted CAs."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not system_store_present():
        context.load_verify_locations(cafile=certifi.where())
    if extra_ca_file:
        path = Path(extra_ca_file)
        if not path.is_file():
            raise TrustError(f"HOOKLINE_EXTRA_CA_FILE {extra_ca_file} does not exist")
        try:
            context.load_verify_locations(cafile=str(path))
        except ssl.SSLError as exc:
            raise TrustError(f"HOOKLINE_EXTRA_CA_FILE {extra_ca_file} holds no usable PEM certificate") from exc
    return context
