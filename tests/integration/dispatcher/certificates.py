"""A throwaway certificate authority and server certificates for HTTPS receivers in tests (made with `cryptography`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertificateFiles:
    certfile: str
    keyfile: str


class TestAuthority:
    """A self-signed CA whose PEM file a dispatcher can be told to trust, and which issues server certificates."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, directory: Path, name: str = "Hookline Test CA") -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = str(directory / "ca.pem")
        Path(self.ca_file).write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(
        self,
        file_stem: str,
        *,
        dns_names: list[str] | None = None,
        ip_addresses: list[str] | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> CertificateFiles:
        """A server certificate for the given names, written as `<stem>.pem` and `<stem>.key` (unencrypted)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names or []]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses or []]
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns_names or ip_addresses or ["server"])[0])])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - timedelta(hours=1))
            .not_valid_after(valid_until or now + timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        files = CertificateFiles(str(self.directory / f"{file_stem}.pem"), str(self.directory / f"{file_stem}.key"))
        Path(files.certfile).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        Path(files.keyfile).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return files
