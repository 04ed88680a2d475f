"""The source agent keeps its connection to a peer between streams (agent/rpc/connections.py):
the next push to that peer goes out on the same TCP connection, seen from the kernel's own
socket table, and a kept connection to a peer that went away is not used: the push is
Unavailable, as with no connection kept."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess
from transfer_helpers import directory_backend, send_request, stub, ticket, write_tree

ESTABLISHED = "01"


@pytest.fixture
def agents(start_agent: Callable[..., AgentProcess]) -> tuple[AgentProcess, AgentProcess]:
    flags = ("--insecure", "--storage-backend", "directory")
    source = start_agent(*flags, "--allowed-dataset-root", "src")
    target = start_agent(*flags, "--allowed-dataset-root", "dst")
    return source, target


def snapshot(agent: AgentProcess, dataset: str, name: str) -> None:
    backend = directory_backend(agent)
    live = backend.dataset_dir(dataset)
    live.mkdir(parents=True, exist_ok=True)
    write_tree(live, 1 << 20)
    backend.create_snapshot([dataset], name, recursive=False)


def push(source: AgentProcess, target: AgentProcess, dataset: str) -> None:
    snapshot(source, f"src/{dataset}", "s1")
    t = ticket(target, f"dst/{dataset}")
    request = send_request(f"src/{dataset}@s1", target.address, f"dst/{dataset}", t)
    events = list(stub(source.address).SendStream(request))
    assert events[-1].HasField("done")


def connections_to(pid: int, port: int) -> list[int]:
    """The local ports of `pid`'s established TCP connections to `port`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    ports = []
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == ESTABLISHED and inode in inodes and int(remote.split(":")[1], 16) == port:
                ports.append(int(local.split(":")[1], 16))
    return ports


def test_the_next_push_to_a_peer_goes_out_on_the_same_connection(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    port = int(target.address.rsplit(":", 1)[1])
    push(source, target, "first")
    kept = connections_to(source.pid, port)
    assert len(kept) == 1, kept
    push(source, target, "second")
    assert connections_to(source.pid, port) == kept
    received = directory_backend(target)
    assert (
        received.dataset_dir("dst/first").is_dir() and received.dataset_dir("dst/second").is_dir()
    )


def test_a_kept_connection_to_a_peer_that_went_away_is_not_used(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    push(source, target, "first")
    snapshot(source, "src/again", "s1")
    t = ticket(target, "dst/again")
    address = target.address
    target.stop()
    with pytest.raises(grpc.RpcError) as err:
        list(stub(source.address).SendStream(send_request("src/again@s1", address, "dst/again", t)))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert address in (err.value.details() or "")
