"""The scene of the FAKE fault matrices (tests/unit/test_fault_matrix.py, test_fencing.py):
a stack with two nested datasets on a fake source, a fake target to move it to, a real SQLite
store, the Faulty clients every controller of the scene dials, and the checks every case's
end must pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fakes.faults import Faulty
from fakes.memory_world import SOURCE, TARGET, FakeDialer, FakeWorld
from stackferry.controller.domain.model import (
    Event,
    Migration,
    MigrationSpec,
    MigrationState,
    StepState,
)
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

S = MigrationState
WINDOW_SECONDS = 60.0
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
        retry = RetryPolicy(WINDOW_SECONDS, pause_seconds=1.0, clock=self.world.clock)
        service = ControllerService(
            self.store, dialer, owner_id=owner, on_event=self._record, retry=retry
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
            if migration.state.is_halted and migration.pending_action is None:
                return migration
            left = deadline - time.monotonic()
            assert left > 0 and self.recorded.wait(left), f"not ended: {migration.state}"


def check_hosts(world: FakeWorld, ended: Migration, cleanup_failed: bool) -> None:
    assert not world.ran_on_both, world.history
    source, target = world.source, world.target
    if ended.state == S.NEEDS_ATTENTION:
        assert not source.stack_running, "the source runs while the target is not known"
        assert target.down
        assert "stackferry resume" in ended.error and TARGET in ended.error
        return
    assert not source.host.claims and not target.host.claims, "a claim was left behind"
    if ended.state != S.COMPLETED:
        assert source.stack_running, "the stack runs nowhere"
        assert not target.stack_running
        assert not source.snapshots(), "the migration's snapshots were not discarded"
        assert set(target.datasets) == {"dst", "dst/stacks"}, "the target was not cleaned"
        assert not target.stacks
        return
    assert target.stack_running and not source.stack_running
    for moved_from, moved_to in MOVED.items():
        assert target.datasets[moved_to].writes == source.datasets[moved_from].writes
    assert (ended.step("cleanup").state == StepState.FAILED) == cleanup_failed
    if not cleanup_failed:
        assert not source.snapshots() | target.snapshots()


def wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
