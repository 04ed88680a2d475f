"""Agent-to-agent streams between real agent processes: PrepareReceive, SendStream,
ReceiveStream, over the directory backend (tar) here and zfs-fuse pools in test_transfer_zfs.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import tarfile
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess, free_port
from transfer_helpers import (
    ZFS,
    checksum,
    children_named,
    directory_backend,
    send_request,
    stub,
    ticket,
    tree,
    wait_until,
    write_tree,
)

from stackferry.api.agent.v1 import agent_pb2


@pytest.fixture
def agents(start_agent: Callable[..., AgentProcess]) -> tuple[AgentProcess, AgentProcess]:
    """A source agent (root "src") and a target agent (root "dst"), directory backend."""
    flags = ("--insecure", "--storage-backend", "directory")
    source = start_agent(*flags, "--allowed-dataset-root", "src")
    target = start_agent(*flags, "--allowed-dataset-root", "dst")
    return source, target


def make_snapshot(agent: AgentProcess, dataset: str, name: str, size: int = 1 << 20) -> Path:
    backend = directory_backend(agent)
    live = backend.dataset_dir(dataset)
    live.mkdir(parents=True, exist_ok=True)
    write_tree(live, size)
    backend.create_snapshot([dataset], name, recursive=False)
    return live


def nothing_received(target: AgentProcess, dataset: str) -> bool:
    backend = directory_backend(target)
    incoming = list((backend.base / "incoming").iterdir())
    return not backend.dataset_dir(dataset).exists() and not incoming


def tar_children(agent: AgentProcess) -> list[int]:
    return children_named(agent.pid, "tar")


def test_full_send_agent_to_agent_copies_every_file(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    live = make_snapshot(source, "src/app", "s1", size=3 << 20)
    t = ticket(target, "dst/apps/app")
    events = list(
        stub(source.address).SendStream(
            send_request("src/app@s1", target.address, "dst/apps/app", t)
        )
    )
    assert events[-1].HasField("done")
    assert all(e.HasField("progress") for e in events[:-1]) and len(events) >= 2
    done = events[-1].done
    assert done.received_snapshot == "dst/apps/app@s1"
    assert done.bytes > 3 << 20 and done.checksum.startswith("xxh3-128:")
    assert events[-2].progress.bytes_done == done.bytes
    received = directory_backend(target).dataset_dir("dst/apps/app")
    assert tree(received) == tree(live)
    assert not tar_children(source) and not tar_children(target)


def test_export_without_peer_streams_the_raw_tar(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, _ = agents
    live = make_snapshot(source, "src/app", "s1")
    raw = bytearray()
    done = None
    for event in stub(source.address).SendStream(
        agent_pb2.SendRequest(kind=ZFS, snapshot="src/app@s1")
    ):
        if event.HasField("chunk"):
            raw += event.chunk
        else:
            done = event.done
    assert done is not None
    assert done.bytes == len(raw) and done.checksum == checksum(raw)
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        member = archive.extractfile("data/sub/random.bin")
        assert member is not None
        assert member.read() == (live / "sub" / "random.bin").read_bytes()


@pytest.mark.parametrize("case", ["missing", "forged", "replayed", "other target"])
def test_receive_without_its_ticket_is_permission_denied(
    agents: tuple[AgentProcess, AgentProcess], case: str
) -> None:
    source, target = agents
    make_snapshot(source, "src/app", "s1")
    presented = {
        "missing": "",
        "forged": "x" * 43,
        "replayed": ticket(target, "dst/app"),
        "other target": ticket(target, "dst/other"),
    }[case]
    if case == "replayed":
        list(
            stub(source.address).SendStream(
                send_request("src/app@s1", target.address, "dst/app", presented)
            )
        )
        # the first use succeeded; the same ticket again, for another target, is refused
        request = send_request("src/app@s1", target.address, "dst/app2", presented)
    else:
        request = send_request("src/app@s1", target.address, "dst/app", presented)
    with pytest.raises(grpc.RpcError) as err:
        list(stub(source.address).SendStream(request))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "ticket" in (err.value.details() or "")
    assert not directory_backend(target).dataset_dir("dst/app2").exists()
    if case != "replayed":
        assert nothing_received(target, "dst/app")


def test_prepare_receive_checks_roots_and_targets(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    _, target = agents
    client = stub(target.address)

    def prepare(dataset: str, **kw: object) -> grpc.StatusCode:
        try:
            client.PrepareReceive(
                agent_pb2.PrepareReceiveRequest(kind=ZFS, target_dataset=dataset, **kw)  # type: ignore[arg-type]
            )
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        return grpc.StatusCode.OK

    directory_backend(target).dataset_dir("dst/existing").mkdir(parents=True)
    assert prepare("elsewhere/app") == grpc.StatusCode.PERMISSION_DENIED
    assert prepare("dst/bad name") == grpc.StatusCode.INVALID_ARGUMENT
    assert prepare("dst/existing") == grpc.StatusCode.ALREADY_EXISTS
    assert prepare("dst/existing", allow_overwrite=True) == grpc.StatusCode.OK
    assert prepare("dst/app", base_snapshot_guid="123") == grpc.StatusCode.FAILED_PRECONDITION
    assert prepare("dst/app", ttl_seconds=-1) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        client.PrepareReceive(agent_pb2.PrepareReceiveRequest(target_dataset="dst/app"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_send_checks_its_source(agents: tuple[AgentProcess, AgentProcess]) -> None:
    source, target = agents
    make_snapshot(source, "src/app", "s1")
    cases = {
        "src/app@nope": grpc.StatusCode.NOT_FOUND,
        "other/app@s1": grpc.StatusCode.PERMISSION_DENIED,
        "src/app": grpc.StatusCode.INVALID_ARGUMENT,
        "src/app@s1;rm": grpc.StatusCode.INVALID_ARGUMENT,
    }
    for snapshot, code in cases.items():
        with pytest.raises(grpc.RpcError) as err:
            list(
                stub(source.address).SendStream(agent_pb2.SendRequest(kind=ZFS, snapshot=snapshot))
            )
        assert err.value.code() == code, snapshot
    with pytest.raises(grpc.RpcError) as err:  # the directory backend has no incremental
        list(
            stub(source.address).SendStream(
                agent_pb2.SendRequest(kind=ZFS, snapshot="src/app@s1", base_snapshot="src/app@s0")
            )
        )
    assert err.value.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND)


def test_peer_down_is_unavailable(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    make_snapshot(source, "src/app", "s1")
    t = ticket(target, "dst/app")
    address = target.address
    target.stop()
    with pytest.raises(grpc.RpcError) as err:
        list(stub(source.address).SendStream(send_request("src/app@s1", address, "dst/app", t)))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert address in (err.value.details() or "")
    assert not tar_children(source)


def test_receive_stream_needs_a_header_first(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    _, target = agents
    with pytest.raises(grpc.RpcError) as err:
        stub(target.address).ReceiveStream(iter([agent_pb2.ReceiveMessage(chunk=b"data")]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def raw_receive(
    target: AgentProcess, dataset: str, payload: bytes, trailer: agent_pb2.ReceiveTrailer | None
) -> grpc.RpcError | None:
    """Calls ReceiveStream directly with a standard protobuf client."""
    header = agent_pb2.ReceiveHeader(
        kind=ZFS, ticket=ticket(target, dataset), target_dataset=dataset
    )
    messages = [agent_pb2.ReceiveMessage(header=header), agent_pb2.ReceiveMessage(chunk=payload)]
    if trailer is not None:
        messages.append(agent_pb2.ReceiveMessage(trailer=trailer))
    try:
        stub(target.address).ReceiveStream(iter(messages))
    except grpc.RpcError as exc:
        return exc
    return None


def tar_stream(agent: AgentProcess, snapshot: str) -> bytes:
    raw = bytearray()
    for event in stub(agent.address).SendStream(agent_pb2.SendRequest(kind=ZFS, snapshot=snapshot)):
        raw += event.chunk
    return bytes(raw)


def test_a_stream_is_committed_only_with_a_matching_trailer(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    make_snapshot(source, "src/app", "s1")
    raw = tar_stream(source, "src/app@s1")
    digest = checksum(raw)
    bad_sum = raw_receive(
        target,
        "dst/a",
        raw,
        agent_pb2.ReceiveTrailer(bytes=len(raw), checksum="xxh3-128:" + "0" * 32),
    )
    assert bad_sum is not None and bad_sum.code() == grpc.StatusCode.DATA_LOSS
    assert "corrupted" in (bad_sum.details() or "")
    bad_len = raw_receive(
        target, "dst/a", raw, agent_pb2.ReceiveTrailer(bytes=len(raw) + 1, checksum=digest)
    )
    assert bad_len is not None and bad_len.code() == grpc.StatusCode.DATA_LOSS
    sha = "sha256:" + hashlib.sha256(raw).hexdigest()
    unknown = raw_receive(
        target, "dst/a", raw, agent_pb2.ReceiveTrailer(bytes=len(raw), checksum=sha)
    )
    assert unknown is not None and unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "xxh3-128" in (unknown.details() or "")
    failed = raw_receive(target, "dst/a", raw, agent_pb2.ReceiveTrailer(error="zfs send died"))
    assert failed is not None and "zfs send died" in (failed.details() or "")
    truncated = raw_receive(target, "dst/a", raw, None)
    assert truncated is not None and truncated.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert nothing_received(target, "dst/a")
    # the same bytes through a standard protobuf client, with the right trailer, are accepted
    assert (
        raw_receive(target, "dst/a", raw, agent_pb2.ReceiveTrailer(bytes=len(raw), checksum=digest))
        is None
    )
    assert (directory_backend(target).dataset_dir("dst/a") / "hello.txt").exists()


def start_slow_send(
    source: AgentProcess, target: AgentProcess, dataset: str
) -> tuple[grpc.Future, list]:  # type: ignore[type-arg]
    """A SendStream paced at 2 MB/s of a ~20 MB snapshot, consumed in a thread into the returned
    list (events, then the error if the call fails); returns once the first event arrived."""
    make_snapshot(source, "src/app", "s1", size=20 << 20)
    t = ticket(target, dataset)
    call = stub(source.address).SendStream(
        send_request("src/app@s1", target.address, dataset, t, limit=2_000_000)
    )
    started = threading.Event()
    seen: list = []

    def consume() -> None:
        try:
            for event in call:
                seen.append(event)
                started.set()
        except grpc.RpcError as exc:
            seen.append(exc)
        started.set()

    threading.Thread(target=consume, daemon=True).start()
    assert started.wait(15)
    return call, seen


def sigterm_while_tar_runs(agent: AgentProcess, what: str) -> None:
    """Once the agent's tar child runs, SIGTERM the agent: it must exit 0 and reap the child."""
    wait_until(lambda: tar_children(agent), what=what)
    running = tar_children(agent)
    assert agent.stop(signal.SIGTERM, timeout=20) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in running)


def test_cancel_mid_stream_leaves_nothing_behind(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    call, seen = start_slow_send(source, target, "dst/app")
    wait_until(lambda: tar_children(source) and tar_children(target), what="tar on both sides")
    call.cancel()
    wait_until(lambda: not tar_children(source) and not tar_children(target), what="tars reaped")
    wait_until(lambda: nothing_received(target, "dst/app"), what="partial receive removed")
    assert any(isinstance(e, grpc.RpcError) and e.code() == grpc.StatusCode.CANCELLED for e in seen)


def test_a_source_that_dies_mid_send_is_not_accepted(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    _, seen = start_slow_send(source, target, "dst/app")
    wait_until(lambda: tar_children(source), what="tar send on the source")
    os.kill(tar_children(source)[0], signal.SIGKILL)
    wait_until(lambda: isinstance(seen[-1], grpc.RpcError), what="the send to fail")
    error = seen[-1]
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "tar" in (error.details() or "")
    wait_until(lambda: nothing_received(target, "dst/app"), what="partial receive removed")
    assert not tar_children(target)


def test_sigterm_on_the_target_mid_stream_cancels_and_cleans_up(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    _, seen = start_slow_send(source, target, "dst/app")
    sigterm_while_tar_runs(target, what="tar receive on the target")
    wait_until(lambda: isinstance(seen[-1], grpc.RpcError), what="the send to fail")
    assert nothing_received(target, "dst/app")
    wait_until(lambda: not tar_children(source), what="tar send reaped on the source")


def test_sigterm_on_the_source_mid_stream_reaps_its_children(
    agents: tuple[AgentProcess, AgentProcess],
) -> None:
    source, target = agents
    start_slow_send(source, target, "dst/app")
    sigterm_while_tar_runs(source, what="tar send on the source")
    wait_until(lambda: not tar_children(target), what="tar receive reaped on the target")
    wait_until(lambda: nothing_received(target, "dst/app"), what="partial receive removed")


def scrape(port: int) -> dict[str, float]:
    """The agent's /metrics as {'name{labels}': value}, comments left out."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    samples = (line.rsplit(" ", 1) for line in lines if line and not line.startswith("#"))
    return {name: float(value) for name, value in samples}


def test_both_agents_count_the_stream_in_their_metrics(
    start_agent: Callable[..., AgentProcess],
) -> None:
    ports = [free_port(), free_port()]
    flags = ("--insecure", "--storage-backend", "directory")
    source = start_agent(
        *flags, "--allowed-dataset-root", "src", "--metrics-listen", f"127.0.0.1:{ports[0]}"
    )
    target = start_agent(
        *flags, "--allowed-dataset-root", "dst", "--metrics-listen", f"127.0.0.1:{ports[1]}"
    )
    make_snapshot(source, "src/app", "s1", size=2 << 20)
    t = ticket(target, "dst/apps/app")
    request = send_request("src/app@s1", target.address, "dst/apps/app", t)
    events = list(stub(source.address).SendStream(request))
    moved = events[-1].done.bytes
    assert moved > 2 << 20
    sent, received = scrape(ports[0]), scrape(ports[1])
    assert sent['stackferry_transfer_sent_bytes_total{kind="zfs"}'] == moved
    assert received['stackferry_transfer_received_bytes_total{kind="zfs"}'] == moved
    assert sent['stackferry_transfers_total{direction="send",outcome="ok"}'] == 1
    assert received['stackferry_transfers_total{direction="receive",outcome="ok"}'] == 1
    assert sent['stackferry_transfer_active_streams{direction="send"}'] == 0
