"""Every step of a migration against every fault, on FAKE agents in memory
(tests/fakes/memory_agent.py) and a real SQLite store, driven through ControllerService.

Fast and exhaustive beside the runs on real agents (tests/e2e), never instead of them. Each
case plans one fault at one step and checks where the migration ends (domain/machine.py).
Outages are agent restarts in fake time (the engine's retries wait on the same clock): one of
2 s is ridden out by the retry window (60 s here) and completes, except that a target agent
restarted between the deploy and its commit removes the deploy, which rolls the migration
back; one of 70 s fails the step, and the undo rides the rest of it out: FAILED before the
stop, ROLLED_BACK from the stop on. A target gone for good once the deploy may have run ends
NEEDS_ATTENTION, the source stopped, and a resume once it is back rolls back. A failed
clean-up still completes; a lost lease or a killed controller is taken over by the next
controller, which completes; a cancel ends CANCELLED. Whatever the end, the stack never ran
on both hosts at once (the fake world asserts it at every change), it runs on the source
unless it completed (or NEEDS_ATTENTION), and a rollback leaves the target as it was, with no
snapshot and no claim left behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
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
    Outage,
)
from fakes.memory_world import TARGET
from fakes.scene import (
    IMAGE,
    SPEC,
    WAIT_SECONDS,
    Scene,
    check_hosts,
    wait_for,
    web_world,
)

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationState
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

# One converge round, always (its end does not hang on the rates the fakes happen to show),
# so the calls of each step below have fixed numbers. bulk_send: the bulk pass, "prestage"
# (the deploy checks again, the missing image copied), then "converge" (the round).
MATRIX_SPEC = dataclasses.replace(
    SPEC, options=dataclasses.replace(SPEC.options, converge_max_rounds=1)
)

# Each step and the state it runs in.
STATE_OF = {
    "validate": S.VALIDATING,
    "snapshot": S.SNAPSHOTTING,
    "bulk_send": S.BULK_SENDING,
    "prestage": S.BULK_SENDING,
    "pre_create": S.BULK_SENDING,
    "converge": S.BULK_SENDING,
    "stop_source": S.STOPPING_SOURCE,
    "final_snapshot": S.FINAL_SNAPSHOTTING,
    "incremental_send": S.INCREMENTAL_SENDING,
    "deploy": S.DEPLOYING,
    "verify": S.VERIFYING,
    "cleanup": S.CLEANING_UP,
}
BEFORE_STOP = ("validate", "snapshot", "bulk_send", "converge", "prestage", "pre_create")

# The call a fault acts at in each step: (method, its number among that method's calls).
# Two datasets, so each send streams twice: the fault hits the second stream, once the first
# dataset has arrived. snapshot, stop_source and final_snapshot call no target method,
# deploy and verify no source method, and only the sends and the image copy stream (the
# final sends run both datasets at once: the fault hits one of them).
SOURCE_CALLS = {
    "validate": ("inspect_stack", 1),
    "snapshot": ("create_snapshot", 1),
    "bulk_send": ("push_zfs", 2),
    "converge": ("push_zfs", 4),
    "prestage": ("push_images", 1),  # the target lacks the image: it is copied before the stop
    "stop_source": ("stop_stack", 1),
    "final_snapshot": ("create_snapshot", 3),
    "incremental_send": ("push_zfs", 6),
    "cleanup": ("destroy_snapshot", 1),
}
TARGET_CALLS = {
    "validate": ("check_deploy", 1),
    "bulk_send": ("prepare_zfs_receive", 2),
    "converge": ("prepare_zfs_receive", 4),
    "prestage": ("check_deploy", 2),
    "pre_create": ("create_stack", 1),  # prestage's deploy_stack create_only
    # its tickets were prepared in bulk_send: the check that the second dataset is not there yet
    "incremental_send": ("list_snapshots", 6),
    "deploy": ("deploy_stack", 1),
    "verify": ("inspect_stack", 1),
    "cleanup": ("destroy_snapshot", 1),
}
STREAM_CALLS = {
    step: SOURCE_CALLS[step] for step in ("bulk_send", "converge", "prestage", "incremental_send")
}
# The step's source call, or its target call where it makes none.
ANY_CALLS = {step: ("source", call) for step, call in SOURCE_CALLS.items()} | {
    step: ("target", TARGET_CALLS[step]) for step in ("pre_create", "deploy", "verify")
}

# An agent restart: (host, seconds gone, whether the call did its work before it died).
OUTAGES = {
    f"{host}_{how}_{seconds}s": (host, float(seconds), how == "crash")
    for host in ("source", "target")
    for how in ("unreachable", "crash")
    for seconds in (2, 70)
}
GONE_SECONDS = 1e6  # beyond the window of the step and the window of the rollback after it
FAULT_STEPS: dict[str, Collection[str]] = {
    **{
        name: SOURCE_CALLS if host == "source" else TARGET_CALLS
        for name, (host, _, _) in OUTAGES.items()
    },
    # The deploy may have run: the rollback must know the target stack stopped.
    "target_gone": ("deploy", "verify"),
    "stream_cut": STREAM_CALLS,
    "stream_broken": STREAM_CALLS,
    "deploy_fails": ("pre_create", "deploy"),
    "lease_lost": STATE_OF,
    "controller_restarted": STATE_OF,
    "cancelled": STATE_OF,
}
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
    if fault in OUTAGES or fault == "target_gone":
        host, seconds, after_work = OUTAGES.get(fault, ("target", GONE_SECONDS, True))
        client = scene.source if host == "source" else scene.target
        method, nth = (SOURCE_CALLS if host == "source" else TARGET_CALLS)[step]
        agent = scene.world.source if host == "source" else scene.world.target
        return client, Fault(method, Outage(agent, seconds, after_work), nth)
    if fault in ("stream_cut", "stream_broken"):
        method, nth = STREAM_CALLS[step]
        error = ControllerError if fault == "stream_broken" else Unavailable
        return scene.source, Fault(method, CutStream(after_bytes=1, error=error), nth)
    if fault == "deploy_fails":
        method = "create_stack" if step == "pre_create" else "deploy_stack"
        return scene.target, Fault(method, FailDeploy())
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
        # Once the target committed and serves, a cancel is a no-op: the clean-up goes on.
        return S.COMPLETED if step == "cleanup" else S.CANCELLED
    if fault == "target_gone":
        return S.NEEDS_ATTENTION
    # The validation reports an agent error as a failed check, not retried: nothing is done.
    if step == "validate":
        return S.FAILED
    if step == "cleanup":
        return S.COMPLETED
    if step == "pre_create" and fault == "deploy_fails":
        return S.COMPLETED  # not pre-created: the deploy after the stop creates the stack
    if fault == "stream_cut" or fault.endswith("_2s"):
        # A target agent restarted before the commit removed the deploy verify looks at.
        restarted_after_deploy = step == "verify" and fault.startswith("target")
        return S.ROLLED_BACK if restarted_after_deploy else S.COMPLETED
    return S.FAILED if step in BEFORE_STOP else S.ROLLED_BACK


@pytest.mark.parametrize(("step", "fault"), CASES)
def test_a_fault_at_a_step_ends_where_the_state_machine_says(
    scene: Scene, step: str, fault: str
) -> None:
    first = scene.controller("first")
    migration_id = first.create(MATRIX_SPEC).id
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
    assert ended.pending_action is None and not ended.waiting
    assert fault_planned.fired == 1
    cleanup_failed = step == "cleanup" and fault.endswith("_70s")
    check_hosts(scene.world, ended, cleanup_failed)
    if ended.state == S.NEEDS_ATTENTION:
        # A person found the target agent and resumes: the rollback runs again.
        scene.world.target.down = False
        service = scene.services[-1]
        assert wait_for(lambda: not service.is_driving(migration_id))
        service.resume(migration_id)
        ended = scene.ended(service, migration_id)
        assert ended.state == S.ROLLED_BACK, ended.error
        check_hosts(scene.world, ended, cleanup_failed=False)


def test_without_a_fault_the_stack_moves_with_its_data(scene: Scene) -> None:
    service = scene.controller("only")
    ended = service.wait(service.create(MATRIX_SPEC, start=True).id, WAIT_SECONDS)
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
