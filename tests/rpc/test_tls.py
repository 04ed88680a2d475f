"""TLS between agents: the source dials its peer with its own certificate (mTLS both ways);
peers from another CA, and clients without a certificate, are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess
from tlsutil import CertAuthority
from transfer_helpers import ZFS, directory_backend, send_request, tree, write_tree

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc


def start_tls_agent(
    start_agent: Callable[..., AgentProcess], ca: CertAuthority, name: str, root: str
) -> AgentProcess:
    return start_agent(
        "--storage-backend", "directory", "--allowed-dataset-root", root, *ca.agent_flags(name)
    )


def client(ca: CertAuthority, name: str, address: str) -> agent_pb2_grpc.AgentStub:
    ident = ca.issue(name)
    creds = grpc.ssl_channel_credentials(
        ident.ca.read_bytes(), ident.key.read_bytes(), ident.cert.read_bytes()
    )
    return agent_pb2_grpc.AgentStub(grpc.secure_channel(address, creds))


def snapshot(agent: AgentProcess) -> Path:
    backend = directory_backend(agent)
    live = backend.dataset_dir("src/app")
    live.mkdir(parents=True)
    write_tree(live, 2 << 20)
    backend.create_snapshot(["src/app"], "s1", recursive=False)
    return live


def transfer(source: AgentProcess, target: AgentProcess, ca: CertAuthority) -> None:
    """PrepareReceive on the target, SendStream on the source, as a controller does."""
    ticket = client(ca, "controller", target.address).PrepareReceive(
        agent_pb2.PrepareReceiveRequest(kind=ZFS, target_dataset="dst/app"), timeout=10
    )
    request = send_request("src/app@s1", target.address, "dst/app", ticket.ticket)
    list(client(ca, "controller", source.address).SendStream(request, timeout=60))


def test_agents_stream_to_each_other_over_mutual_tls(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    ca = CertAuthority(tmp_path / "pki")
    source = start_tls_agent(start_agent, ca, "source", "src")
    target = start_tls_agent(start_agent, ca, "target", "dst")
    live = snapshot(source)
    transfer(source, target, ca)
    assert tree(directory_backend(target).dataset_dir("dst/app")) == tree(live)


@pytest.mark.parametrize("distrusted", ["source", "target"])
def test_a_peer_from_another_ca_is_refused(
    start_agent: Callable[..., AgentProcess], tmp_path: Path, distrusted: str
) -> None:
    """Each side verifies the other: a source whose certificate the target's CA did not sign
    cannot push, and a source does not push into a target it cannot verify."""
    ca, other = CertAuthority(tmp_path / "pki"), CertAuthority(tmp_path / "other", "other-ca")
    source = start_tls_agent(start_agent, other if distrusted == "source" else ca, "source", "src")
    target = start_tls_agent(start_agent, other if distrusted == "target" else ca, "target", "dst")
    snapshot(source)
    target_ca = other if distrusted == "target" else ca
    source_ca = other if distrusted == "source" else ca
    ticket = client(target_ca, "controller", target.address).PrepareReceive(
        agent_pb2.PrepareReceiveRequest(kind=ZFS, target_dataset="dst/app"), timeout=10
    )
    request = send_request("src/app@s1", target.address, "dst/app", ticket.ticket)
    with pytest.raises(grpc.RpcError) as err:
        list(client(source_ca, "controller", source.address).SendStream(request, timeout=60))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert target.address in (err.value.details() or "")
    assert not directory_backend(target).dataset_dir("dst/app").exists()


def test_a_client_without_a_certificate_cannot_open_a_receive(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    ca = CertAuthority(tmp_path / "pki")
    target = start_tls_agent(start_agent, ca, "target", "dst")
    creds = grpc.ssl_channel_credentials(ca.path.read_bytes())  # trusts the agent, no own cert
    stub = agent_pb2_grpc.AgentStub(grpc.secure_channel(target.address, creds))
    header = agent_pb2.ReceiveHeader(kind=ZFS, ticket="t", target_dataset="dst/app")
    with pytest.raises(grpc.RpcError) as err:
        stub.ReceiveStream(iter([agent_pb2.ReceiveMessage(header=header)]), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert target.proc.poll() is None
