"""Faults injected into the calls a controller makes to an agent.

`Faulty(agent)` is an AgentClient (controller/ports.py) that passes every call on to `agent`,
a MemoryAgent (tests/fakes/memory_agent.py), except where a Fault of its `plan` says
"instead of calls nth to nth + times - 1 of this method, this effect". A Fault counts how
often it fired, so a test can show that its fault happened. The clients a dialer binds to
different migrations (`bound`) share the plan and the counts.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from fakes.memory_agent import BindableAgent, MemoryAgent
from stackferry.controller.domain.model import MigrationState
from stackferry.controller.errors import ControllerError, LeaseHeld, Unavailable
from stackferry.controller.ports import AgentClient, TransferCall, TransferEvent
from stackferry.controller.service import ControllerService
from stackferry.controller.store.base import MigrationStore
from stackferry.hostapi import (
    AgentInfo,
    Claim,
    ClaimGrant,
    DatasetInfo,
    DeployChecks,
    DeployRequest,
    DeployResult,
    DiscardResult,
    FileManifest,
    FileTransfer,
    FileTree,
    ReleaseResult,
    SendEstimate,
    SnapshotInfo,
    StackInfo,
    StackStatus,
    TransferProgress,
    VolumeInfo,
    VolumeSpec,
    ZfsTransfer,
)

STREAMS = frozenset({"push_zfs", "push_images"})
METHODS = STREAMS | {
    "info",
    "create_snapshot",
    "list_snapshots",
    "destroy_snapshot",
    "get_datasets",
    "estimate_send",
    "inspect_stack",
    "stop_stack",
    "start_stack",
    "check_deploy",
    "deploy_stack",
    "create_stack",  # deploy_stack with create_only (the pre-create before the stop)
    "prepare_zfs_receive",
    "prepare_image_receive",
    "claim",
    "release",
    "discard",
}
CANCEL_SAVED_SECONDS = 10.0

R = TypeVar("R")


class ControllerKilled(BaseException):
    """SIGKILL of the controller, in-process: not an Exception, so no handler of the driver
    catches it and the driver thread ends where it is raised. Only `finally` blocks run; they
    release the lease, which after a real kill expires instead."""


class Effect(Protocol):
    applies_to: frozenset[str]  # the methods it makes sense for

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        """What the controller gets instead of the answer of `call` (the real call)."""
        ...


class Unreachable:
    """The agent cannot be reached: the call fails before it gets there."""

    applies_to = METHODS

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        raise Unavailable(f"fault: {method}: agent unreachable")


class Outage:
    """The agent process dies and is back `seconds` later, in the world's fake time, so a
    window longer than the engine's retry window means what it says; its containers go on,
    and the restarted agent removes a deploy it never committed. `after_work`: it dies once
    the call did its work (a stream ran to its end), before the answer; else before the call
    reaches it."""

    applies_to = METHODS

    def __init__(self, agent: MemoryAgent, seconds: float, after_work: bool = False) -> None:
        self.agent = agent
        self.seconds = seconds
        self.after_work = after_work

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        if self.after_work:
            answer = call()
            if method in STREAMS:
                list(cast(TransferCall, answer))
        self.agent.crash(self.seconds)
        address = self.agent.address
        raise Unavailable(f"fault: {method}: agent {address} went down", address)


class CutStream:
    """The stream breaks once `after_bytes` have been reported, with `error`: Unavailable (a
    network cut: the driver tries again) or another controller error (not tried again)."""

    applies_to = STREAMS

    def __init__(self, after_bytes: int = 1, error: type[ControllerError] = Unavailable) -> None:
        self.after_bytes = after_bytes
        self.error = error

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        return _CutCall(cast(TransferCall, call()), self.after_bytes, self.error)


class _CutCall:
    def __init__(self, inner: TransferCall, after_bytes: int, error: type[ControllerError]):
        self._inner = inner
        self._after_bytes = after_bytes
        self._error = error

    def __iter__(self) -> Iterator[TransferEvent]:
        for event in self._inner:
            yield event
            if isinstance(event, TransferProgress) and event.bytes_done >= self._after_bytes:
                self._inner.cancel()
                raise self._error(f"fault: stream cut after {event.bytes_done} bytes")

    def cancel(self) -> None:
        self._inner.cancel()


class FailDeploy:
    """The deploy runs and the agent reports that it failed, as when a container crashed
    after `compose up`: the target stack may be left running, and a rollback must stop it."""

    applies_to = frozenset({"deploy_stack", "create_stack"})

    def __init__(self, error: str = "fault: container web exited (1)") -> None:
        self.error = error

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        result = cast(DeployResult, call())
        return dataclasses.replace(result, ok=False, error=self.error, logs={"web": self.error})


class LoseLease:
    """Before the call, the lease `owner` holds on the migration runs out (as when its
    renewals stop reaching the database) and `intruder` takes it, all through the store's
    own API; then the call goes on."""

    applies_to = METHODS

    def __init__(self, store: MigrationStore, migration_id: str, owner: str, intruder: str) -> None:
        self.store = store
        self.migration_id = migration_id
        self.owner = owner
        self.intruder = intruder

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        while True:
            self.store.renew_lease(self.migration_id, self.owner, ttl_seconds=1e-6)
            try:
                self.store.acquire_lease(self.migration_id, self.intruder, ttl_seconds=60)
            except LeaseHeld:  # not expired yet by the store's clock, or renewed meanwhile
                continue
            return call()


class Kill:
    """The call reaches the host and does its work (a stream runs to its end), then the
    controller dies before it hears the answer: ControllerKilled."""

    applies_to = METHODS

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        answer = call()
        if method in STREAMS:
            list(cast(TransferCall, answer))
        raise ControllerKilled(f"controller killed during {method}")


class Cancel:
    """A user cancels the migration during the call: `service.cancel` runs in a thread of
    its own (it waits for the undo, which this call holds up) and the call goes on once the
    cancel is saved, or at once when the cancel was a no-op (its thread ended without one, as
    in CLEANING_UP). `join()` waits for that thread."""

    applies_to = METHODS

    def __init__(self, service: ControllerService, migration_id: str) -> None:
        self.service = service
        self.migration_id = migration_id
        self._threads: list[threading.Thread] = []

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        thread = threading.Thread(
            target=self.service.cancel, args=(self.migration_id,), name="cancel", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + CANCEL_SAVED_SECONDS
        while self.service.get(self.migration_id).state != MigrationState.CANCELLING:
            if not thread.is_alive():
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no cancel saved within {CANCEL_SAVED_SECONDS} s")
            time.sleep(0.001)
        return call()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


@dataclass
class Fault:
    """`effect` instead of calls nth to nth + times - 1 of `method`, counted from 1 (times
    None: every call from the nth on). `hit` is set once it fired and its effect is done."""

    method: str
    effect: Effect
    nth: int = 1
    times: int | None = 1
    fired: int = 0
    hit: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.method not in self.effect.applies_to:
            raise ValueError(f"{type(self.effect).__name__} does not apply to {self.method}")

    def covers(self, call_number: int) -> bool:
        return call_number >= self.nth and (
            self.times is None or call_number < self.nth + self.times
        )


class Faulty:
    """An AgentClient: `agent`, except where a Fault of `plan` applies. `calls` counts the
    calls of each method."""

    def __init__(self, agent: BindableAgent, plan: Sequence[Fault] = ()) -> None:
        self.agent = agent
        self.address = agent.address
        self.plan = list(plan)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def bound(self, migration_id: str) -> Faulty:
        view = copy.copy(self)  # the same plan, counts and lock
        view.agent = self.agent.bound(migration_id)
        return view

    def _call(self, method: str, call: Callable[[], R]) -> R:
        with self._lock:
            self.calls[method] += 1
            number = self.calls[method]
            fault = next((f for f in self.plan if f.method == method and f.covers(number)), None)
            if fault is not None:
                fault.fired += 1
        if fault is None:
            return call()
        try:
            return cast(R, fault.effect(method, call))
        finally:
            fault.hit.set()

    def info(self) -> AgentInfo:
        return self._call("info", self.agent.info)

    def create_snapshot(self, datasets: Sequence[str], name: str) -> list[SnapshotInfo]:
        return self._call("create_snapshot", lambda: self.agent.create_snapshot(datasets, name))

    def list_snapshots(self, datasets: Sequence[str], name: str = "") -> list[SnapshotInfo]:
        return self._call("list_snapshots", lambda: self.agent.list_snapshots(datasets, name))

    def destroy_snapshot(self, datasets: Sequence[str], name: str) -> None:
        self._call("destroy_snapshot", lambda: self.agent.destroy_snapshot(datasets, name))

    def get_datasets(self, names: Sequence[str]) -> list[DatasetInfo]:
        return self._call("get_datasets", lambda: self.agent.get_datasets(names))

    def estimate_send(
        self, snapshot: str, base_snapshot: str = "", resume_token: str = ""
    ) -> SendEstimate:
        return self._call(
            "estimate_send", lambda: self.agent.estimate_send(snapshot, base_snapshot, resume_token)
        )

    def inspect_stack(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackInfo:
        return self._call(
            "inspect_stack",
            lambda: self.agent.inspect_stack(compose_path, project_name, compose_files, env_files),
        )

    def stop_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 0,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackStatus:
        return self._call(
            "stop_stack",
            lambda: self.agent.stop_stack(
                project_name, compose_path, timeout, compose_files, env_files
            ),
        )

    def start_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 60,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> None:
        self._call(
            "start_stack",
            lambda: self.agent.start_stack(
                project_name, compose_path, timeout, compose_files, env_files, services
            ),
        )

    def check_deploy(self, request: DeployRequest) -> DeployChecks:
        return self._call("check_deploy", lambda: self.agent.check_deploy(request))

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        # The pre-create before the stop counts apart: "deploy_stack" is the deploy itself.
        method = "create_stack" if request.create_only else "deploy_stack"
        return self._call(method, lambda: self.agent.deploy_stack(request))

    def push_zfs(self, transfer: ZfsTransfer, peer: AgentClient, ticket: str = "") -> TransferCall:
        return self._call("push_zfs", lambda: self.agent.push_zfs(transfer, peer, ticket))

    def push_images(
        self,
        images: Sequence[str],
        peer: AgentClient,
        bandwidth_limit: int = 0,
        compression: str = "none",
    ) -> TransferCall:
        return self._call(
            "push_images",
            lambda: self.agent.push_images(images, peer, bandwidth_limit, compression),
        )

    def prepare_zfs_receive(
        self, target_dataset: str, base_guid: str = "", resume: bool = False, ttl: int = 0
    ) -> str:
        return self._call(
            "prepare_zfs_receive",
            lambda: self.agent.prepare_zfs_receive(target_dataset, base_guid, resume, ttl),
        )

    def prepare_image_receive(self, images: Sequence[str]) -> str:
        return self._call("prepare_image_receive", lambda: self.agent.prepare_image_receive(images))

    def claim(self, claim: Claim) -> ClaimGrant:
        return self._call("claim", lambda: self.agent.claim(claim))

    def release(self, committed: bool) -> ReleaseResult:
        return self._call("release", lambda: self.agent.release(committed))

    def discard(self) -> DiscardResult:
        return self._call("discard", self.agent.discard)

    def inspect_volume(self, name: str) -> VolumeInfo:
        return self.agent.inspect_volume(name)

    def create_volume(self, spec: VolumeSpec, allow_overwrite: bool = False) -> VolumeInfo:
        return self.agent.create_volume(spec, allow_overwrite)

    def prepare_file_receive(
        self,
        target: FileTree,
        allow_overwrite: bool = False,
        checksum: bool = False,
        ttl: int = 0,
    ) -> str:
        return self.agent.prepare_file_receive(target, allow_overwrite, checksum, ttl)

    def push_files(
        self, transfer: FileTransfer, peer: AgentClient, ticket: str = ""
    ) -> TransferCall:
        return self.agent.push_files(transfer, peer, ticket)

    def file_manifest(self, tree: FileTree) -> FileManifest:
        return self.agent.file_manifest(tree)
