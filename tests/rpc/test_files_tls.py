"""A file pass over mutual TLS: the sending agent dials the receiving one with its own
certificate, as zfs pushes do; a sender from another CA is refused and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess
from files_helpers import make_tree, push, stats
from tlsutil import CertAuthority

from stackferry.controller import errors
from stackferry.controller.agents import AgentDialer
from stackferry.hostapi import FileTree


def tls_agent(
    start_agent: Callable[..., AgentProcess], ca: CertAuthority, name: str, root: Path
) -> AgentProcess:
    root.mkdir(parents=True, exist_ok=True)
    flags = ("--storage-backend", "directory", "--allowed-path-root", str(root))
    return start_agent(*flags, *ca.agent_flags(name))


def dialer_of(ca: CertAuthority) -> AgentDialer:
    ident = ca.issue("controller")
    return AgentDialer(
        grpc.ssl_channel_credentials(
            ident.ca.read_bytes(), ident.key.read_bytes(), ident.cert.read_bytes()
        )
    )


@pytest.mark.parametrize("sender_ca", ["same", "other"])
def test_a_file_pass_runs_over_mutual_tls_only_between_agents_of_one_ca(
    start_agent: Callable[..., AgentProcess], tmp_path: Path, sender_ca: str
) -> None:
    ca, other = CertAuthority(tmp_path / "pki"), CertAuthority(tmp_path / "other", "other-ca")
    src, dst = tmp_path / "a" / "data", tmp_path / "b" / "data"
    make_tree(src)
    source = tls_agent(start_agent, ca if sender_ca == "same" else other, "source", tmp_path / "a")
    target = tls_agent(start_agent, ca, "target", tmp_path / "b")
    to_source = dialer_of(ca if sender_ca == "same" else other)
    to_target = dialer_of(ca)
    a, b = to_source.dial(source.address, "m-tls"), to_target.dial(target.address, "m-tls")
    try:
        if sender_ca == "same":
            push(a, b, FileTree(path=str(src)), FileTree(path=str(dst)))
            assert stats(dst) == stats(src)
        else:
            with pytest.raises(errors.Unavailable):
                push(a, b, FileTree(path=str(src)), FileTree(path=str(dst)))
            assert not dst.exists()
    finally:
        to_source.close()
        to_target.close()
