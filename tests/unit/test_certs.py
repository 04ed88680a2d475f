"""`stackferry certs`: the CA and host certificates are what mutual TLS between daemons needs."""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from stackferry.cli import certs_command
from stackferry.common import certs


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stackferry")
    certs_command.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def verify_as_server(ca: Path, leaf: Path, host: str) -> None:
    store = Store([load(ca)])
    builder = PolicyBuilder().store(store).time(datetime.datetime.now(datetime.UTC))
    try:
        subject: x509.verification.Subject = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    builder.build_server_verifier(subject).verify(load(leaf), [])


def test_init_creates_a_ca_with_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    files = certs.make_ca(tmp_path / "tls")
    ca = load(files.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > datetime.timedelta(days=3000)
    assert mode(files.key) == 0o600
    assert mode(files.cert) == 0o644


def test_init_refuses_to_replace_an_existing_ca(tmp_path: Path) -> None:
    first = certs.make_ca(tmp_path)
    before = first.key.read_bytes()
    with pytest.raises(certs.CertError, match="already exists"):
        certs.make_ca(tmp_path)
    assert first.key.read_bytes() == before


def test_issue_gives_server_and_client_usages_and_every_host_as_san(tmp_path: Path) -> None:
    certs.make_ca(tmp_path)
    files = certs.issue_cert(tmp_path, "agent-a", ["agent-a.example.org", "10.0.0.5", "::1"])
    leaf = load(files.cert)
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["agent-a.example.org"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("::1"),
    ]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert mode(files.key) == 0o600
    assert files.ca == tmp_path / "ca.crt"
    verify_as_server(files.ca, files.cert, "agent-a.example.org")
    verify_as_server(files.ca, files.cert, "10.0.0.5")


def test_a_certificate_does_not_verify_for_a_host_it_was_not_issued_for(tmp_path: Path) -> None:
    certs.make_ca(tmp_path)
    files = certs.issue_cert(tmp_path, "agent-a", ["agent-a.example.org"])
    with pytest.raises(VerificationError):
        verify_as_server(files.ca, files.cert, "agent-b.example.org")


def test_a_certificate_from_another_ca_does_not_verify(tmp_path: Path) -> None:
    certs.make_ca(tmp_path / "ours")
    certs.make_ca(tmp_path / "theirs")
    theirs = certs.issue_cert(tmp_path / "theirs", "intruder", ["127.0.0.1"])
    with pytest.raises(VerificationError):
        verify_as_server(tmp_path / "ours" / "ca.crt", theirs.cert, "127.0.0.1")


def test_not_valid_after_in_the_past_makes_an_expired_certificate(tmp_path: Path) -> None:
    certs.make_ca(tmp_path)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    files = certs.issue_cert(tmp_path, "old", ["127.0.0.1"], not_valid_after=past)
    leaf = load(files.cert)
    assert (
        leaf.not_valid_before_utc < leaf.not_valid_after_utc < datetime.datetime.now(datetime.UTC)
    )
    with pytest.raises(VerificationError):
        verify_as_server(files.ca, files.cert, "127.0.0.1")


def test_rsa_keys_are_3072_bits(tmp_path: Path) -> None:
    certs.make_ca(tmp_path, key_type="rsa")
    leaf = load(certs.issue_cert(tmp_path, "h", ["h.lan"], key_type="rsa").cert)
    key = leaf.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072


@pytest.mark.parametrize(
    ("name", "hosts", "message"),
    [
        ("../etc/passwd", ["h"], "certificate name"),
        ("-o", ["h"], "certificate name"),
        ("ok", ["bad host;rm"], "neither an IP address nor a DNS name"),
        ("ok", [], "at least one --host"),
    ],
)
def test_bad_names_and_hosts_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str, hosts: list[str], message: str
) -> None:
    certs.make_ca(tmp_path)
    with pytest.raises(certs.CertError, match=message):
        certs.issue_cert(tmp_path, name, hosts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "ca.key"]


def test_issue_without_a_ca_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(certs.CertError, match="certs init"):
        certs.issue_cert(tmp_path, "h", ["h.lan"])


def test_issue_refuses_to_overwrite_a_certificate(tmp_path: Path) -> None:
    certs.make_ca(tmp_path)
    first = certs.issue_cert(tmp_path, "h", ["h.lan"]).cert.read_bytes()
    with pytest.raises(certs.CertError, match="already exists"):
        certs.issue_cert(tmp_path, "h", ["other.lan"])
    assert (tmp_path / "h.crt").read_bytes() == first


def test_the_command_line_runs_init_then_issue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tls = tmp_path / "tls"
    assert certs_command.run(parse(["certs", "init", "--dir", str(tls)])) == 0
    argv = ["certs", "issue", "ctl", "--host", "ctl.lan", "--host", "127.0.0.1", "--dir", str(tls)]
    assert certs_command.run(parse(argv)) == 0
    assert "ctl.crt" in capsys.readouterr().out
    verify_as_server(tls / "ca.crt", tls / "ctl.crt", "127.0.0.1")
    assert certs_command.run(parse(argv)) == 2
    assert "already exists" in capsys.readouterr().err


def test_issue_requires_a_host_on_the_command_line() -> None:
    with pytest.raises(SystemExit):
        parse(["certs", "issue", "h"])
