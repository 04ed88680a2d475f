"""Helpers for the agent-to-agent transfer tests: stubs, tickets, snapshots, child processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import xxhash
from conftest import AgentProcess

from stackferry.agent.storage.directory import DirectoryBackend
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

ZFS = agent_pb2.STREAM_ZFS


def checksum(data: bytes | bytearray) -> str:
    """The stream checksum the agents exchange, computed independently of agent code."""
    return "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()


def stub(address: str, creds: grpc.ChannelCredentials | None = None) -> agent_pb2_grpc.AgentStub:
    options = [("grpc.max_receive_message_length", -1)]
    if creds is None:
        return agent_pb2_grpc.AgentStub(grpc.insecure_channel(address, options=options))
    return agent_pb2_grpc.AgentStub(grpc.secure_channel(address, creds, options=options))


def state_dir(agent: AgentProcess) -> Path:
    return Path(agent.args[agent.args.index("--state-dir") + 1])


def directory_backend(agent: AgentProcess) -> DirectoryBackend:
    """The same directory backend the agent process uses (its state dir)."""
    return DirectoryBackend(state_dir(agent) / "directory")


def write_tree(root: Path, size: int = 1 << 20, seed: int = 0) -> None:
    """A few files and folders, one of ``size`` random bytes."""
    (root / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    (root / "hello.txt").write_text(f"hello {seed}\n")
    (root / "sub" / "deeper" / "empty").write_bytes(b"")
    (root / "sub" / "random.bin").write_bytes(os.urandom(size))
    (root / "link").unlink(missing_ok=True)
    (root / "link").symlink_to("hello.txt")


def tree(root: Path) -> dict[str, bytes | str]:
    """Relative path -> content (files) or link target (symlinks), for comparing trees."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
        else:
            out[rel] = "dir"
    return out


def ticket(target: AgentProcess, dataset: str, base_guid: str = "", overwrite: bool = False) -> str:
    reply = stub(target.address).PrepareReceive(
        agent_pb2.PrepareReceiveRequest(
            kind=ZFS,
            target_dataset=dataset,
            base_snapshot_guid=base_guid,
            allow_overwrite=overwrite,
        )
    )
    return str(reply.ticket)


def send_request(
    snapshot: str,
    peer: str,
    dataset: str,
    ticket: str,
    base: str = "",
    base_guid: str = "",
    limit: int = 0,
) -> agent_pb2.SendRequest:
    header = agent_pb2.ReceiveHeader(
        kind=ZFS, ticket=ticket, target_dataset=dataset, base_snapshot_guid=base_guid
    )
    return agent_pb2.SendRequest(
        kind=ZFS,
        snapshot=snapshot,
        base_snapshot=base,
        peer=peer,
        header=header,
        bandwidth_limit_bytes_per_second=limit,
    )


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (any thread)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def children_named(pid: int, name: str) -> list[int]:
    """Children of ``pid`` whose command is ``name``, zombies (not yet reaped) included."""
    out = []
    for child in children(pid):
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == name:
                out.append(child)
        except OSError:
            continue
    return out


def wait_until(condition: object, timeout: float = 15, what: str = "condition") -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def events(call: Iterator[agent_pb2.SendEvent]) -> list[agent_pb2.SendEvent]:
    return list(call)
