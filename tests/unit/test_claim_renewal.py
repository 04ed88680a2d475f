"""The migration's claims last however long it takes: renewed by the driver's lease renewer
while a forward or undo step runs, taken for the agent's maximum when a rollback ends
NEEDS_ATTENTION with the source stopped, and short-lived when the validation takes them only to
name a holder. On FAKE agents (tests/fakes/scene.py) in fake time: a call that "takes" 1200 s
moves the world's clock on while the step runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.faults import METHODS, FailDeploy, Fault, Faulty, Outage
from fakes.memory_agent import MemoryAgent
from fakes.memory_world import SOURCE, TARGET, FakeDialer
from fakes.scene import SPEC, WAIT_SECONDS, WINDOW_SECONDS, Scene, check_hosts, web_world

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationState
from stackferry.controller.engine.claims import (
    ATTENTION_TTL_SECONDS,
    CLAIM_TTL_SECONDS,
    PROBE_TTL_SECONDS,
)
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

S = MigrationState
LEASE_SECONDS = 3.0  # the renewer wakes every 1 s (real time) to look at the claims
RENEWED_SECONDS = 10.0  # real time a renewal gets to happen before the call goes on


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    world = web_world()
    store = SqlMigrationStore(sqlite_url(tmp_path / "c.db"))
    made = Scene(world, store, Faulty(world.source), Faulty(world.target))
    yield made
    for service in made.services:
        service.shutdown()
    store.close()


def controller(scene: Scene) -> ControllerService:
    """Scene.controller with a short lease, so that its renewer looks often."""
    dialer = FakeDialer({SOURCE: scene.source, TARGET: scene.target})
    retry = RetryPolicy(WINDOW_SECONDS, pause_seconds=1.0, clock=scene.world.clock)
    service = ControllerService(
        scene.store,
        dialer,
        owner_id="only",
        on_event=scene._record,
        retry=retry,
        lease_ttl=LEASE_SECONDS,
    )
    scene.services.append(service)
    return service


def expiries(agents: tuple[MemoryAgent, ...]) -> list[float]:
    """When each claim on `agents` lapses (fake time); only one migration runs here."""
    return [c.expires for agent in agents for c in agent.host.claims.values()]


class LongCall:
    """The call takes `rounds` x `seconds` of fake time while the claims on `agents` are
    held: after each advance it lets the renewer run (until every claim lapses at least
    `seconds` from now, or RENEWED_SECONDS of real time) and notes whether one had lapsed."""

    applies_to = METHODS

    def __init__(self, scene: Scene, rounds: int = 3, seconds: float = 400.0) -> None:
        self.world = scene.world
        self.agents = (scene.world.source, scene.world.target)
        self.rounds, self.seconds = rounds, seconds
        self.lapsed: list[float] = []  # the fake times at which a claim was found lapsed
        self.held_before = False

    def __call__(self, method: str, call: Callable[[], Any]) -> Any:
        clock = self.world.clock
        self.held_before = len(expiries(self.agents)) > 0
        for _ in range(self.rounds):
            clock.time += self.seconds
            deadline = time.monotonic() + RENEWED_SECONDS
            while any(e < clock.now() + self.seconds for e in expiries(self.agents)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if any(e <= clock.now() for e in expiries(self.agents)):
                self.lapsed.append(clock.now())
        return call()


@pytest.mark.parametrize(
    ("method", "host", "rolls_back"),
    [
        ("push_zfs", "source", False),  # the bulk send of the first dataset
        ("deploy_stack", "target", False),
        (
            "start_stack",
            "source",
            True,
        ),  # the rollback's start of the source after the deploy failed
    ],
)
def test_the_claims_do_not_lapse_during_a_step_longer_than_their_ttl(
    scene: Scene, method: str, host: str, rolls_back: bool
) -> None:
    long_call = LongCall(scene)
    assert long_call.rounds * long_call.seconds > CLAIM_TTL_SECONDS
    client = scene.source if host == "source" else scene.target
    client.plan.append(Fault(method, long_call))
    if rolls_back:
        scene.target.plan.append(Fault("deploy_stack", FailDeploy()))
    service = controller(scene)
    ended = scene.ended(service, service.create(SPEC, start=True).id)

    assert ended.state == (S.ROLLED_BACK if rolls_back else S.COMPLETED), ended.error
    assert long_call.held_before, "no claim was held when the long call began"
    assert long_call.lapsed == [], "a claim lapsed while the step ran"
    check_hosts(scene.world, ended, cleanup_failed=False)


def test_a_rollback_that_needs_attention_keeps_the_stopped_source_claimed_for_the_maximum(
    scene: Scene,
) -> None:
    # The target agent goes for good once the deploy ran: the source stays stopped.
    scene.target.plan.append(Fault("deploy_stack", Outage(scene.world.target, 1e6, True)))
    service = controller(scene)
    ended = scene.ended(service, service.create(SPEC, start=True).id)

    assert ended.state == S.NEEDS_ATTENTION, ended.error
    assert not scene.world.source.stack_running
    now = scene.world.clock.now()
    left = [e - now for e in expiries((scene.world.source,))]
    assert left and min(left) > ATTENTION_TTL_SECONDS - WINDOW_SECONDS * 10, left

    # A person brings the target back and resumes: the rollback releases them.
    scene.world.target.down = False
    assert wait_for_not_driving(service, ended.id)
    service.resume(ended.id)
    again = scene.ended(service, ended.id)
    assert again.state == S.ROLLED_BACK, again.error
    check_hosts(scene.world, again, cleanup_failed=False)


def wait_for_not_driving(service: ControllerService, migration_id: str) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while service.is_driving(migration_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_claims_taken_to_name_a_holder_lapse_soon_when_their_release_fails(
    scene: Scene,
) -> None:
    # The target already has the stack's dataset (an earlier run, not a migration's claim):
    # the report fails and the claims are taken only to see whether someone holds them.
    scene.world.target.add_dataset("dst/stacks/web", "/dst/stacks/web")
    scene.source.plan.append(Fault("release", Outage(scene.world.source, 1.0)))
    service = controller(scene)
    ended = scene.ended(service, service.create(SPEC, start=True).id)

    assert ended.state == S.FAILED, ended.error
    now = scene.world.clock.now()
    left = [e - now for e in expiries((scene.world.source,))]
    assert left, "the failed release left no claim: the fault did not act"
    assert max(left) <= PROBE_TTL_SECONDS, left
    assert not scene.world.target.host.claims
