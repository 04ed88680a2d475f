"""Every step of a migration against every fault, on FAKE agents in memory
(tests/fakes/memory_agent.py) and a real SQLite store, driven through ControllerService.

Fast and exhaustive beside the runs on real agents (tests/e2e), never instead of them. Each
case plans one fault at one step and checks where the migration ends (domain/machine.py):
a fault the retries ride out completes; one they do not fails the migration before the
stop (FAILED, its snapshots discarded) and rolls it back from the stop on (ROLLED_BACK); a
failed clean-up still completes; a lost lease or a killed controller is taken over by the
next controller, which completes the migration; a cancel ends CANCELLED. Whatever the end,
the stack never ran on both hosts at once, and it runs on the source unless it completed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes.faults import (
    Cancel,
    CutStream,
    FailDeploy,
    Fault,
    Faulty,
    Kill,
    LoseLease,
    Unreachable,
)
from fakes.memory_agent import SOURCE, TARGET, FakeDialer, FakeWorld

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import (
    Event,
    Migration,
    MigrationSpec,
    MigrationState,
    StepState,
)
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.errors import (
    AlreadyExists,
    ControllerError,
    FailedPrecondition,
    Unavailable,
)
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore
from stackferry.hostapi import ZfsTransfer

S = MigrationState
RETRY = RetryPolicy(attempts=3, pause_seconds=0.01)
WAIT_SECONDS = 20.0
IMAGE = "local/busybox:1"
COMPOSE = f"""\
services:
  web:
    image: {IMAGE}
    volumes:
      - /srv/web/data:/data
  db:
    image: {IMAGE}
    volumes:
      - /srv/web/data/db:/var/lib/db
"""
SPEC = MigrationSpec(
    name="web",
    compose_path="/srv/web/docker-compose.yml",
    source_agent=SOURCE,
    target_agent=TARGET,
    target_dataset="dst/stacks",
    target_base="/mnt/stacks",
)
MOVED = {"tank/web": "dst/stacks/web", "tank/web/db": "dst/stacks/web/db"}

# Each step and the state it runs in.
STATE_OF = {
    "validate": S.VALIDATING,
    "snapshot": S.SNAPSHOTTING,
    "bulk_send": S.BULK_SENDING,
    "stop_source": S.STOPPING_SOURCE,
    "final_snapshot": S.FINAL_SNAPSHOTTING,
    "incremental_send": S.INCREMENTAL_SENDING,
    "deploy": S.DEPLOYING,
    "verify": S.VERIFYING,
    "cleanup": S.CLEANING_UP,
}
BEFORE_STOP = ("validate", "snapshot", "bulk_send")

# The call a fault acts at in each step: (method, its number among that method's calls).
# Two datasets, so each send streams twice: the fault hits the second stream, once the first
# dataset has arrived. snapshot, stop_source and final_snapshot call no target method,
# verify no source method, and only the sends and the deploy's image copy stream.
SOURCE_CALLS = {
    "validate": ("inspect_stack", 1),
    "snapshot": ("create_snapshot", 1),
    "bulk_send": ("push_zfs", 2),
    "stop_source": ("stop_stack", 1),
    "final_snapshot": ("create_snapshot", 2),
    "incremental_send": ("push_zfs", 4),
    "deploy": ("push_images", 1),  # the target lacks the image: the deploy copies it
    "cleanup": ("destroy_snapshot", 1),
}
TARGET_CALLS = {
    "validate": ("check_deploy", 1),
    "bulk_send": ("prepare_zfs_receive", 2),
    "incremental_send": ("prepare_zfs_receive", 4),
    "deploy": ("deploy_stack", 1),
    "verify": ("inspect_stack", 1),
    "cleanup": ("destroy_snapshot", 1),
}
STREAM_CALLS = {step: SOURCE_CALLS[step] for step in ("bulk_send", "incremental_send", "deploy")}
# The step's source call, or its target call where it makes none.
ANY_CALLS = {step: ("source", call) for step, call in SOURCE_CALLS.items()} | {
    "verify": ("target", TARGET_CALLS["verify"])
}

FAULT_STEPS: dict[str, Collection[str]] = {
    "source_unavailable_once": SOURCE_CALLS,
    "source_unavailable_long": SOURCE_CALLS,
    "target_unavailable_once": TARGET_CALLS,
    "target_unavailable_long": TARGET_CALLS,
    "stream_cut": STREAM_CALLS,
    "stream_broken": STREAM_CALLS,
    "deploy_fails": ("deploy",),
    "lease_lost": STATE_OF,
    "controller_restarted": STATE_OF,
    "cancelled": STATE_OF,
}
RIDDEN_OUT = ("source_unavailable_once", "target_unavailable_once", "stream_cut")
TAKEN_OVER = ("lease_lost", "controller_restarted")
# The killed driver thread ends with ControllerKilled, which pytest reports as a warning.
KILLED = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
CASES = [
    pytest.param(
        step,
        fault,
        id=f"{step}-{fault}",
        marks=[KILLED] if fault == "controller_restarted" else [],
    )
    for fault, steps in FAULT_STEPS.items()
    for step in STATE_OF
    if step in steps
]


def web_world() -> FakeWorld:
    """The web stack running on the source, its two datasets parent and child; the target
    has the parent dataset to receive them below, and not the image."""
    world = FakeWorld()
    world.source.add_dataset("tank/web", "/srv/web/data", ("web: first write",))
    world.source.add_dataset("tank/web/db", "/srv/web/data/db", ("db: first write",))
    world.source.images.add(IMAGE)
    world.source.add_stack(SPEC.compose_path, COMPOSE)
    world.target.add_dataset("dst", "/dst")
    world.target.add_dataset("dst/stacks", "/dst/stacks")
    return world


@dataclass
class Scene:
    """The fake hosts, the store, and the Faulty clients every controller here dials."""

    world: FakeWorld
    store: SqlMigrationStore
    source: Faulty
    target: Faulty
    services: list[ControllerService] = field(default_factory=list)
    recorded: threading.Event = field(default_factory=threading.Event)

    def controller(self, owner: str) -> ControllerService:
        dialer = FakeDialer({SOURCE: self.source, TARGET: self.target})
        service = ControllerService(
            self.store, dialer, owner_id=owner, on_event=self._record, retry=RETRY
        )
        self.services.append(service)
        return service

    def _record(self, event: Event) -> None:
        self.recorded.set()

    def ended(self, service: ControllerService, migration_id: str) -> Migration:
        """service.wait, but looking again at each event a controller records rather than
        every 0.2 s, which would make the matrix several times slower."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            self.recorded.clear()
            migration = service.get(migration_id)
            if migration.state.is_terminal and migration.pending_action is None:
                return migration
            left = deadline - time.monotonic()
            assert left > 0 and self.recorded.wait(left), f"not ended: {migration.state}"


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    world = web_world()
    store = SqlMigrationStore(sqlite_url(tmp_path / "c.db"))
    made = Scene(world, store, Faulty(world.source), Faulty(world.target))
    yield made
    for service in made.services:
        service.shutdown()
    store.close()


def planned(
    scene: Scene, fault: str, step: str, first: ControllerService, migration_id: str
) -> tuple[Faulty, Fault]:
    """The client and the Fault that make `fault` happen at `step`."""
    times = 1 if fault.endswith("_once") else None
    if fault.startswith("source_unavailable"):
        method, nth = SOURCE_CALLS[step]
        return scene.source, Fault(method, Unreachable(), nth, times)
    if fault.startswith("target_unavailable"):
        method, nth = TARGET_CALLS[step]
        return scene.target, Fault(method, Unreachable(), nth, times)
    if fault in ("stream_cut", "stream_broken"):
        method, nth = STREAM_CALLS[step]
        error = ControllerError if fault == "stream_broken" else Unavailable
        return scene.source, Fault(method, CutStream(after_bytes=1, error=error), nth)
    if fault == "deploy_fails":
        return scene.target, Fault("deploy_stack", FailDeploy())
    host, (method, nth) = ANY_CALLS[step]
    client = scene.source if host == "source" else scene.target
    if fault == "lease_lost":
        return client, Fault(method, LoseLease(scene.store, migration_id, "first", "second"), nth)
    if fault == "controller_restarted":
        return client, Fault(method, Kill(), nth)
    assert fault == "cancelled", fault
    return client, Fault(method, Cancel(first, migration_id), nth)


def expected_state(step: str, fault: str) -> MigrationState:
    if fault in TAKEN_OVER:
        return S.COMPLETED
    if fault == "cancelled":
        return S.CANCELLED
    if step == "cleanup":
        return S.COMPLETED
    # The validation reports an agent error as a failed check, not retried: nothing is done.
    if fault in RIDDEN_OUT and step != "validate":
        return S.COMPLETED
    return S.FAILED if step in BEFORE_STOP else S.ROLLED_BACK


def expected_fired(step: str, fault: str) -> int:
    """A fault that lasts is met by every attempt of the step (the validation makes one)."""
    return RETRY.attempts if fault.endswith("_long") and step != "validate" else 1


def check_hosts(world: FakeWorld, ended: Migration, cleanup_failed: bool) -> None:
    assert not world.ran_on_both, world.history
    if ended.state != S.COMPLETED:
        assert world.source.stack_running, "the stack runs nowhere"
        assert not world.target.stack_running
        if ended.state in (S.FAILED, S.CANCELLED):
            assert not world.source.snapshots(), "the migration's snapshots were not discarded"
        return
    assert world.target.stack_running and not world.source.stack_running
    for source, target in MOVED.items():
        assert world.target.datasets[target].writes == world.source.datasets[source].writes
    assert (ended.step("cleanup").state == StepState.FAILED) == cleanup_failed
    if not cleanup_failed:
        assert not world.source.snapshots() | world.target.snapshots()


def wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize(("step", "fault"), CASES)
def test_a_fault_at_a_step_ends_where_the_state_machine_says(
    scene: Scene, step: str, fault: str
) -> None:
    first = scene.controller("first")
    migration_id = first.create(SPEC).id
    client, fault_planned = planned(scene, fault, step, first, migration_id)
    client.plan.append(fault_planned)
    first.start(migration_id)
    if fault in TAKEN_OVER:
        assert fault_planned.hit.wait(WAIT_SECONDS), "the fault never happened"
        # The first controller stops driving by itself (lease gone, or its driver killed),
        # before anyone shuts it down.
        assert wait_for(lambda: not first.is_driving(migration_id)), "it kept driving"
        first.shutdown()
        left = scene.store.get(migration_id)
        assert left.state == STATE_OF[step], "the first controller went on after the fault"
        second = scene.controller("second")
        second.resume_all()
        ended = scene.ended(second, migration_id)
    else:
        ended = scene.ended(first, migration_id)
    if isinstance(fault_planned.effect, Cancel):
        fault_planned.effect.join()

    assert ended.state == expected_state(step, fault), ended.error
    assert ended.pending_action is None
    assert fault_planned.fired == expected_fired(step, fault)
    cleanup_failed = step == "cleanup" and fault.endswith("_long")
    check_hosts(scene.world, ended, cleanup_failed)


def test_without_a_fault_the_stack_moves_with_its_data(scene: Scene) -> None:
    service = scene.controller("only")
    ended = service.wait(service.create(SPEC, start=True).id, WAIT_SECONDS)
    assert ended.state == S.COMPLETED, ended.error
    check_hosts(scene.world, ended, cleanup_failed=False)
    # Running on the source, stopped there, then running on the target: nothing else.
    assert scene.world.history == [(True, False), (False, False), (False, True)]
    assert IMAGE in scene.world.target.images
    # The stack's last write came with the stop: only the incremental send carried it.
    assert (
        scene.world.source.datasets["tank/web"].writes[-1] == "source: last write before the stop"
    )


def test_an_agent_that_is_down_fails_the_validation_and_nothing_is_touched(scene: Scene) -> None:
    scene.world.target.down = True
    service = scene.controller("only")
    assert not service.ping_agent(TARGET).reachable
    ended = scene.ended(service, service.create(SPEC, start=True).id)
    assert ended.state == S.FAILED
    assert "agents_reachable" in ended.error
    assert scene.world.history == [(True, False)]
    assert not scene.world.source.snapshots()


def test_the_fake_target_refuses_the_streams_zfs_would_refuse() -> None:
    world = web_world()
    source, target = world.source, world.target
    first, second = source.create_snapshot(["tank/web"], "a") + source.create_snapshot(
        ["tank/web"], "b"
    )
    full = ZfsTransfer("tank/web@a", "dst/stacks/web")
    list(source.push_zfs(full, target))
    with pytest.raises(AlreadyExists):
        list(source.push_zfs(full, target))
    wrong_base = ZfsTransfer("tank/web@b", "dst/stacks/web", "tank/web@a", second.guid)
    with pytest.raises(FailedPrecondition):
        list(source.push_zfs(wrong_base, target))
    incremental = ZfsTransfer("tank/web@b", "dst/stacks/web", "tank/web@a", first.guid)
    list(source.push_zfs(incremental, target))
    received = target.datasets["dst/stacks/web"]
    assert received.writes == source.datasets["tank/web"].snapshot("b").writes
    assert [s.guid for s in received.snapshots] == [first.guid, second.guid]
