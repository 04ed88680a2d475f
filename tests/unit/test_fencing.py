"""One migration at a time per stack and target, one live copy, and a clean target after a
rollback: the engine's claims, fencing and discard on FAKE agents (tests/fakes/scene.py),
beside the real crash and race runs of tests/e2e."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.faults import FailDeploy, Fault, Faulty, Kill, Outage
from fakes.memory_host import FakeClock
from fakes.memory_world import TARGET
from fakes.scene import (
    SPEC,
    WAIT_SECONDS,
    WINDOW_SECONDS,
    Scene,
    check_hosts,
    wait_for,
    web_world,
)

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import EventKind, MigrationOptions, MigrationState
from stackferry.controller.engine.retry import Wakeup
from stackferry.controller.errors import AlreadyExists
from stackferry.controller.store.sql import SqlMigrationStore
from stackferry.hostapi import Claim

S = MigrationState


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    world = web_world()
    store = SqlMigrationStore(sqlite_url(tmp_path / "c.db"))
    made = Scene(world, store, Faulty(world.source), Faulty(world.target))
    yield made
    for service in made.services:
        service.shutdown()
    store.close()


@pytest.mark.parametrize("host", ["source", "target"])
def test_a_claim_of_another_migration_fails_the_validation_naming_it_and_touches_nothing(
    scene: Scene, host: str
) -> None:
    # Another controller, with a database of its own, migrates the same stack or into the
    # same target dataset.
    agent = scene.world.source if host == "source" else scene.world.target
    dataset = "tank/web/db" if host == "source" else "dst/stacks/web/db"
    agent.bound("other-migration").claim(Claim(host, "other", datasets=(dataset,)))
    service = scene.controller("only")
    ended = scene.ended(service, service.create(SPEC, start=True).id)

    assert ended.state == S.FAILED
    assert "other-migration" in ended.error and dataset in ended.error
    assert scene.world.history == [(True, False)]
    assert not scene.world.source.snapshots()
    assert set(scene.world.target.datasets) == {"dst", "dst/stacks"}
    # Only the other migration's claim is left: ours was not kept on either host.
    for side in (scene.world.source, scene.world.target):
        assert {c.migration_id for c in side.host.claims.values()} <= {"other-migration"}


def test_a_rollback_leaves_the_target_clean_and_a_plain_retry_completes(scene: Scene) -> None:
    scene.target.plan.append(Fault("deploy_stack", FailDeploy()))
    service = scene.controller("only")
    failed = scene.ended(service, service.create(SPEC, start=True).id)
    assert failed.state == S.ROLLED_BACK, failed.error
    check_hosts(scene.world, failed, cleanup_failed=False)
    messages = [e.message for e in scene.store.list_events(failed.id)]
    assert any(m.startswith("removed from the target: deploy") for m in messages), messages

    again = scene.ended(service, service.create(SPEC, start=True).id)
    assert again.state == S.COMPLETED, again.error
    check_hosts(scene.world, again, cleanup_failed=False)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_controller_killed_in_the_rollback_is_taken_over_and_the_rollback_ends(
    scene: Scene,
) -> None:
    # The deploy fails; the controller dies once the target agent discarded the deploy.
    scene.target.plan.append(Fault("deploy_stack", FailDeploy()))
    killed = Fault("discard", Kill())
    scene.target.plan.append(killed)
    first = scene.controller("first")
    migration_id = first.create(SPEC, start=True).id
    assert killed.hit.wait(WAIT_SECONDS)
    assert wait_for(lambda: not first.is_driving(migration_id))
    first.shutdown()
    assert scene.store.get(migration_id).state == S.ROLLING_BACK

    second = scene.controller("second")
    second.resume_all()
    ended = scene.ended(second, migration_id)
    assert ended.state == S.ROLLED_BACK, ended.error
    check_hosts(scene.world, ended, cleanup_failed=False)


def test_keep_target_on_failure_leaves_the_target_stopped_for_inspection(scene: Scene) -> None:
    scene.target.plan.append(Fault("deploy_stack", FailDeploy()))
    kept = dataclasses.replace(SPEC, options=MigrationOptions(keep_target_on_failure=True))
    service = scene.controller("only")
    ended = scene.ended(service, service.create(kept, start=True).id)

    assert ended.state == S.ROLLED_BACK, ended.error
    assert not scene.world.ran_on_both
    assert scene.world.source.stack_running and not scene.world.target.stack_running
    assert {"dst/stacks/web", "dst/stacks/web/db"} <= set(scene.world.target.datasets)
    assert scene.world.target.stacks, "the deployed compose file was removed"
    assert not scene.world.source.snapshots()


class ShowingClock(FakeClock):
    """Fake time that, at each pause, reads what the store shows of every migration then."""

    def __init__(self, store: SqlMigrationStore) -> None:
        super().__init__()
        self.store = store
        self.shown: list[str] = []

    def pause(self, seconds: float, wakeup: Wakeup) -> bool:
        self.shown += [m.waiting for m in self.store.list_migrations().migrations]
        return super().pause(seconds, wakeup)


def test_an_agent_is_waited_for_with_growing_pauses_and_the_wait_is_shown(scene: Scene) -> None:
    # The target agent restarts at the deploy and is back 30 s later.
    clock = scene.world.clock = ShowingClock(scene.store)
    outage = Outage(scene.world.target, 30.0)
    scene.target.plan.append(Fault("deploy_stack", outage))
    service = scene.controller("only")
    started = clock.now()
    ended = scene.ended(service, service.create(SPEC, start=True).id)

    assert ended.state == S.COMPLETED, ended.error
    assert not ended.waiting
    assert clock.shown[0] == f"waiting for agent {TARGET} (attempt 1, next in 1 s)"
    assert clock.shown[-1] == f"waiting for agent {TARGET} (attempt 6, next in 10 s)"
    assert service.status(ended.id).waiting == ""
    waits = [
        e.message
        for e in scene.store.list_events(ended.id)
        if e.kind == EventKind.LOG and e.message.startswith("waiting for agent")
    ]
    pauses = [float(m.split("next in ")[1].split(" s)")[0]) for m in waits]
    assert waits[0].startswith(f"waiting for agent {TARGET} (attempt 1, next in 1 s)")
    assert pauses == [1, 2, 4, 8, 10, 10]  # doubling up to 10 s, until the agent is back
    assert 30 <= clock.now() - started < WINDOW_SECONDS


def test_needs_attention_keeps_the_stack_taken_and_is_not_resumed_by_itself(
    scene: Scene,
) -> None:
    scene.target.plan.append(Fault("deploy_stack", Outage(scene.world.target, 1e6, True)))
    service = scene.controller("first")
    ended = scene.ended(service, service.create(SPEC, start=True).id)
    assert ended.state == S.NEEDS_ATTENTION, ended.error
    assert ended.error.endswith(f"Check it, then run `stackferry resume {ended.id}`")
    assert not scene.world.source.stack_running
    with pytest.raises(AlreadyExists):
        service.create(SPEC)
    assert wait_for(lambda: not service.is_driving(ended.id))

    other = scene.controller("second")
    other.resume_all()
    assert not other.is_driving(ended.id)
    assert scene.store.get(ended.id).state == S.NEEDS_ATTENTION
    assert scene.world.history[-1] == (False, True)  # the source stays stopped
