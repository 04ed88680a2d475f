"""A private CA and the host certificates for mutual TLS between daemons (the `stackferry certs`
command is cli/certs_command.py).

One CA signs every agent and controller certificate; each certificate carries both the
serverAuth and clientAuth usages because an agent is a server to the controller and a
client of its peer agent. Private keys are written 0600 and never overwritten.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIR = "/etc/stackferry/tls"
CA_DAYS = 3650
CERT_DAYS = 825  # the longest validity clients commonly accept for a leaf certificate
_CLOCK_SKEW = datetime.timedelta(minutes=5)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DNS_RE = re.compile(
    r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class CertError(Exception):
    """A certificate cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path
    ca: Path


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise CertError(f"key type must be ec or rsa, not {key_type!r}")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Creates ``path`` with ``mode`` from the start (no window where a key is world-readable)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CertError(f"{path} already exists; remove it first to replace it") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _DNS_RE.match(host) or len(host) > 253:
        raise CertError(f"--host {host!r} is neither an IP address nor a DNS name")
    return x509.DNSName(host.lower())


def make_ca(
    directory: str | Path, common_name: str = "stackferry CA", key_type: str = "ec"
) -> CertFiles:
    """Writes ca.crt and ca.key (0600) into ``directory``; refuses to replace an existing CA."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if key_path.exists() or cert_path.exists():
        raise CertError(f"a CA already exists in {directory}; it signs every host certificate")
    key = _new_key(key_type)
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_new(key_path, _key_pem(key), 0o600)
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return CertFiles(cert=cert_path, key=key_path, ca=cert_path)


def _load_ca(directory: Path) -> tuple[x509.Certificate, PrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    except FileNotFoundError:
        raise CertError(
            f"no CA in {directory}: run `stackferry certs init --dir {directory}` first"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertError(f"{directory / 'ca.key'}: unsupported key type")
    return cert, key


def issue_cert(
    directory: str | Path,
    name: str,
    hosts: list[str],
    days: int = CERT_DAYS,
    key_type: str = "ec",
    not_valid_after: datetime.datetime | None = None,
) -> CertFiles:
    """Writes NAME.crt and NAME.key (0600) signed by the CA in ``directory``.

    ``not_valid_after`` overrides ``days`` (tests use a past date to make an expired one).
    """
    directory = Path(directory)
    if not _NAME_RE.match(name):
        raise CertError(f"certificate name {name!r}: use letters, digits, '.', '_' and '-'")
    if not hosts:
        raise CertError("give at least one --host (DNS name or IP address) the peer dials")
    sans = [_san(h) for h in hosts]
    ca_cert, ca_key = _load_ca(directory)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    if cert_path.exists() or key_path.exists():
        raise CertError(f"{cert_path} already exists; remove {name}.crt and {name}.key to reissue")
    now = datetime.datetime.now(datetime.UTC)
    not_after = not_valid_after or now + datetime.timedelta(days=days)
    not_before = min(now - _CLOCK_SKEW, not_after - datetime.timedelta(days=1))
    key = _new_key(key_type)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_type == "rsa",
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_new(key_path, _key_pem(key), 0o600)
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return CertFiles(cert=cert_path, key=key_path, ca=directory / "ca.crt")
