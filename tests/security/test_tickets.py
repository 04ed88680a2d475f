"""Transfer tickets: a peer with a valid certificate still writes only the dataset the target
agent was told to expect, once, before the ticket expires."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import grpc
import pytest
import xxhash

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

from .conftest import SecureAgent

CHUNK = 1 << 20


@pytest.fixture
def full_stream(secure_agent: SecureAgent) -> bytes:
    """A real `zfs send` stream of a small dataset outside the agent's allowed root."""
    source = f"{secure_agent.outside_dataset}/source"
    subprocess.run(["zfs", "create", source], check=True, capture_output=True)
    mountpoint = subprocess.run(
        ["zfs", "get", "-H", "-o", "value", "mountpoint", source],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with open(f"{mountpoint}/payload", "wb") as payload:
        payload.write(b"stackferry security test\n" * 4096)
    subprocess.run(["zfs", "snapshot", f"{source}@s1"], check=True, capture_output=True)
    return subprocess.run(["zfs", "send", f"{source}@s1"], check=True, capture_output=True).stdout


def messages(header: agent_pb2.ReceiveHeader, data: bytes) -> Iterator[agent_pb2.ReceiveMessage]:
    yield agent_pb2.ReceiveMessage(header=header)
    for offset in range(0, len(data), CHUNK):
        yield agent_pb2.ReceiveMessage(chunk=data[offset : offset + CHUNK])
    digest = "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()
    trailer = agent_pb2.ReceiveTrailer(bytes=len(data), checksum=digest)
    yield agent_pb2.ReceiveMessage(trailer=trailer)


def receive(
    stub: agent_pb2_grpc.AgentStub, ticket: str, target: str, data: bytes
) -> agent_pb2.ReceiveReply:
    header = agent_pb2.ReceiveHeader(
        kind=agent_pb2.STREAM_ZFS,
        ticket=ticket,
        target_dataset=target,
        bytes_expected=len(data),
        source_snapshot="source@s1",
    )
    return stub.ReceiveStream(messages(header, data), timeout=60)


def prepare(stub: agent_pb2_grpc.AgentStub, target: str, ttl: int = 0) -> str:
    request = agent_pb2.PrepareReceiveRequest(
        kind=agent_pb2.STREAM_ZFS, target_dataset=target, ttl_seconds=ttl
    )
    return stub.PrepareReceive(request, timeout=10).ticket


def refused(stub: agent_pb2_grpc.AgentStub, ticket: str, target: str, data: bytes) -> str:
    with pytest.raises(grpc.RpcError) as error:
        receive(stub, ticket, target, data)
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED, error.value.details()
    return error.value.details() or ""


def test_a_stream_with_its_ticket_is_received(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent, full_stream: bytes
) -> None:
    """The positive control for the refusals below: the same stream, with a real ticket."""
    target = f"{secure_agent.dataset_root}/app"
    reply = receive(stub, prepare(stub, target), target, full_stream)
    assert reply.result.bytes == len(full_stream)
    assert f"{target}@s1" in secure_agent.datasets()


@pytest.mark.parametrize("ticket", ["", "forged-" + "A" * 40])
def test_a_stream_without_a_real_ticket_is_refused_and_nothing_is_written(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent, full_stream: bytes, ticket: str
) -> None:
    target = f"{secure_agent.dataset_root}/app"
    before = secure_agent.datasets()
    prepare(stub, target)  # an open ticket exists, but the sender does not hold it
    refused(stub, ticket, target, full_stream)
    assert secure_agent.datasets() == before


def test_a_replayed_ticket_is_refused_and_nothing_is_written(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent, full_stream: bytes
) -> None:
    target = f"{secure_agent.dataset_root}/app"
    ticket = prepare(stub, target)
    receive(stub, ticket, target, full_stream)
    # Destroy what was received, so that only the ticket can stop the replay.
    subprocess.run(["zfs", "destroy", "-r", target], check=True, capture_output=True)
    before = secure_agent.datasets()
    assert "already used" in refused(stub, ticket, target, full_stream)
    assert secure_agent.datasets() == before


def test_a_ticket_does_not_open_another_dataset(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent, full_stream: bytes
) -> None:
    ticket = prepare(stub, f"{secure_agent.dataset_root}/expected")
    before = secure_agent.datasets()
    refused(stub, ticket, f"{secure_agent.dataset_root}/other", full_stream)
    assert secure_agent.datasets() == before


def test_an_expired_ticket_is_refused_and_nothing_is_written(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent, full_stream: bytes
) -> None:
    target = f"{secure_agent.dataset_root}/app"
    ticket = prepare(stub, target, ttl=1)
    time.sleep(1.5)  # let the one-second ticket lapse (a wait, not a timing assertion)
    before = secure_agent.datasets()
    refused(stub, ticket, target, full_stream)
    assert secure_agent.datasets() == before


def test_no_ticket_is_issued_for_a_dataset_outside_the_allowed_roots(
    stub: agent_pb2_grpc.AgentStub, secure_agent: SecureAgent
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        prepare(stub, f"{secure_agent.outside_dataset}/elsewhere")
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
