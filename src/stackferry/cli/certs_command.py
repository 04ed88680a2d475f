"""`stackferry certs init` / `certs issue`: the command line over stackferry/common/certs.py."""

from __future__ import annotations

import argparse
import sys

from stackferry.common.certs import (
    CERT_DAYS,
    DEFAULT_DIR,
    CertError,
    issue_cert,
    make_ca,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `certs init` and `certs issue` to the `stackferry` command line."""
    certs = subparsers.add_parser("certs", help="create the CA and host certificates for mTLS")
    actions = certs.add_subparsers(dest="certs_command", required=True)
    init = actions.add_parser("init", help="create a CA (ca.crt, ca.key) in --dir")
    init.add_argument("--dir", default=DEFAULT_DIR, help=f"default {DEFAULT_DIR}")
    init.add_argument("--key-type", choices=("ec", "rsa"), default="ec", help="P-256 or RSA 3072")
    init.add_argument("--common-name", default="stackferry CA")
    issue = actions.add_parser("issue", help="issue NAME.crt / NAME.key signed by the CA in --dir")
    issue.add_argument("name", help="file name and common name, e.g. the host name")
    issue.add_argument(
        "--host",
        action="append",
        required=True,
        help="DNS name or IP address others dial this host by (repeatable)",
    )
    issue.add_argument("--dir", default=DEFAULT_DIR, help=f"default {DEFAULT_DIR}")
    issue.add_argument("--days", type=int, default=CERT_DAYS)
    issue.add_argument("--key-type", choices=("ec", "rsa"), default="ec")


def run(args: argparse.Namespace) -> int:
    """Runs a parsed `certs` command: 0 on success, 2 with a message on stderr otherwise."""
    try:
        if args.certs_command == "init":
            files = make_ca(args.dir, args.common_name, args.key_type)
            print(f"CA certificate: {files.cert}\nCA key (keep it offline): {files.key}")
        else:
            if args.days <= 0:
                raise CertError("--days must be positive")
            files = issue_cert(args.dir, args.name, args.host, args.days, args.key_type)
            print(f"certificate: {files.cert}\nkey: {files.key}\nCA: {files.ca}")
    except (CertError, OSError) as exc:
        print(f"stackferry certs: {exc}", file=sys.stderr)
        return 2
    return 0
