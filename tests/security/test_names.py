"""Shell metacharacters and option-like names never reach a command line: every RPC that takes a
dataset or snapshot name refuses them with INVALID_ARGUMENT before running anything."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

from .conftest import SecureAgent

# Refusals are storage-independent: they must hold over zfs and the directory backend alike.
pytestmark = pytest.mark.parametrize("secure_agent", ["zfs", "directory"], indirect=True)

# Each is hostile as a whole name and as a component under the allowed root.
HOSTILE = ["-o", "--foo", "a;rm -rf /", "$(x)", "x y", "`id`", "a\nb", "a|b", "a&b", "..", ""]

Call = Callable[[agent_pb2_grpc.AgentStub], object]


def dataset_names(root: str) -> list[str]:
    return [n for n in HOSTILE if n] + [f"{root}/{n}" for n in HOSTILE]


def snapshot_names(root: str) -> list[str]:
    return [f"{root}@{n}" for n in HOSTILE] + [f"{root}/{n}@s1" for n in HOSTILE if n]


def receive_with(target: str) -> Iterator[agent_pb2.ReceiveMessage]:
    header = agent_pb2.ReceiveHeader(kind=agent_pb2.STREAM_ZFS, target_dataset=target)
    yield agent_pb2.ReceiveMessage(header=header)
    yield agent_pb2.ReceiveMessage(chunk=b"\0" * 1024)
    yield agent_pb2.ReceiveMessage(trailer=agent_pb2.ReceiveTrailer(bytes=1024))


def calls_with_dataset(name: str) -> dict[str, Call]:
    snap = agent_pb2.SnapshotRequest
    return {
        "Snapshot create": lambda s: s.Snapshot(
            snap(action=agent_pb2.SNAPSHOT_CREATE, datasets=[name], name="s1"), timeout=10
        ),
        "Snapshot list": lambda s: s.Snapshot(
            snap(action=agent_pb2.SNAPSHOT_LIST, datasets=[name]), timeout=10
        ),
        "Snapshot destroy": lambda s: s.Snapshot(
            snap(action=agent_pb2.SNAPSHOT_DESTROY, datasets=[name], name="s1"), timeout=10
        ),
        "GetDatasets": lambda s: s.GetDatasets(
            agent_pb2.GetDatasetsRequest(datasets=[name]), timeout=10
        ),
        "PrepareReceive": lambda s: s.PrepareReceive(
            agent_pb2.PrepareReceiveRequest(kind=agent_pb2.STREAM_ZFS, target_dataset=name),
            timeout=10,
        ),
        "ReceiveStream header": lambda s: s.ReceiveStream(receive_with(name), timeout=10),
    }


def calls_with_snapshot(full: str, root: str, holds: bool) -> dict[str, Call]:
    snap = agent_pb2.SnapshotRequest
    dataset, _, short = full.partition("@")
    calls: dict[str, Call] = {
        "Snapshot create name": lambda s: s.Snapshot(
            snap(action=agent_pb2.SNAPSHOT_CREATE, datasets=[dataset], name=short), timeout=10
        ),
        "SendStream snapshot": lambda s: list(
            s.SendStream(
                agent_pb2.SendRequest(kind=agent_pb2.STREAM_ZFS, snapshot=full), timeout=10
            )
        ),
        "SendStream base": lambda s: list(
            s.SendStream(
                agent_pb2.SendRequest(
                    kind=agent_pb2.STREAM_ZFS, snapshot=f"{root}@s1", base_snapshot=full
                ),
                timeout=10,
            )
        ),
        "EstimateSend": lambda s: s.EstimateSend(
            agent_pb2.EstimateSendRequest(snapshot=full), timeout=10
        ),
    }
    if holds and dataset == root and short:  # the hostile snapshot name as a hold tag too
        calls["Snapshot hold tag"] = lambda s: s.Snapshot(
            snap(action=agent_pb2.SNAPSHOT_HOLD, datasets=[root], name="s1", hold_tag=short),
            timeout=10,
        )
    return calls


def refusal_problem(
    agent: SecureAgent, stub: agent_pb2_grpc.AgentStub, call: Call, codes: set[grpc.StatusCode]
) -> str | None:
    """None when the call was refused with one of ``codes`` and ran no command."""
    before = len(agent.commands())
    try:
        call(stub)
    except grpc.RpcError as error:
        if error.code() not in codes:  # type: ignore[attr-defined]
            return f"{error.code()}: {error.details()}"  # type: ignore[attr-defined]
    else:
        return "accepted"
    ran = agent.commands()[before:]
    return f"ran {ran}" if ran else None


def test_hostile_dataset_names_are_refused_before_any_command(
    secure_agent: SecureAgent, stub: agent_pb2_grpc.AgentStub
) -> None:
    problems = {}
    for name in dataset_names(secure_agent.dataset_root):
        for rpc, call in calls_with_dataset(name).items():
            codes = {grpc.StatusCode.INVALID_ARGUMENT}
            problem = refusal_problem(secure_agent, stub, call, codes)
            if problem:
                problems[f"{rpc} {name!r}"] = problem
    assert not problems, "\n".join(f"{call}: {problem}" for call, problem in problems.items())


def test_hostile_snapshot_names_are_refused_before_any_command(
    secure_agent: SecureAgent, stub: agent_pb2_grpc.AgentStub
) -> None:
    root = secure_agent.dataset_root
    problems = {}
    for full in snapshot_names(root):
        for rpc, call in calls_with_snapshot(
            full, root, holds=secure_agent.backend == "zfs"
        ).items():
            problem = refusal_problem(secure_agent, stub, call, {grpc.StatusCode.INVALID_ARGUMENT})
            if problem:
                problems[f"{rpc} {full!r}"] = problem
    assert not problems, "\n".join(f"{call}: {problem}" for call, problem in problems.items())


def test_the_recording_wrapper_sees_commands_of_valid_requests(
    secure_agent: SecureAgent, stub: agent_pb2_grpc.AgentStub
) -> None:
    """The control: without it, an empty command log would prove nothing."""
    root = secure_agent.dataset_root
    if secure_agent.backend == "zfs":
        # zfs-fuse (the testbed's zfs) has no `zfs version`: the agent asked zpool at start.
        assert any(argv[0] == "zpool" for argv in secure_agent.commands())
    before = len(secure_agent.commands())
    request = agent_pb2.SnapshotRequest(
        action=agent_pb2.SNAPSHOT_CREATE, datasets=[root], name="ok1"
    )
    stub.Snapshot(request, timeout=30)
    send = agent_pb2.SendRequest(kind=agent_pb2.STREAM_ZFS, snapshot=f"{root}@ok1")
    events = list(stub.SendStream(send, timeout=60))
    assert events[-1].HasField("done")
    ran = secure_agent.commands()[before:]
    # zfs send, or tar for the directory backend, went through the wrapper.
    assert any(argv[0] == "tar" or "send" in argv for argv in ran), ran
