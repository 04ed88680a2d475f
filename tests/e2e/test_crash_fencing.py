"""One live copy, always: an agent killed with SIGKILL mid-migration and restarted after 5 s or
30 s (same port, same state dir) never leaves the stack running on both hosts.

- the target agent dies the moment its `compose up` has created the stack's containers (engine B
  is polled every ~50 ms during the deploy); its compose child must not outlive it, and its
  journal removes the uncommitted deploy when it starts again;
- the source agent dies right after the source stack stopped.

A sampler lists the stack's running containers on both engines every 0.5 s for the whole run:
never both, exactly one copy at the end, the source data byte-identical, and after a rollback
nothing of the migration left on the target. Each run prints its figures (samples, samples with
both running, time from the kill until one copy serves for good): run with -s to see them.
Real agents, zfs-fuse pools and both Docker engines.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cli_runs import (
    Sampler,
    checksums,
    restart_agent,
    running_on,
    start_migrate,
    stored,
    target_leftovers,
    wait_until,
)
from migration_world import (
    World,
    assert_migrated,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    snapshots_of,
    stackferry,
)

from stackferry.controller.domain.model import MigrationState

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

LOG = "log.txt"  # the writer's file grows while the stack runs; every other file must not change


def kill_moment(world: World, victim: str) -> Callable[[], bool]:
    """When to kill: the target once the deploy started its containers (they are created
    before the stop, by the pre-create), the source once its stack stopped."""
    if victim == "target":
        return lambda: running_on(world.docker_b, world.project) > 0
    return lambda: running_on(world.docker_a, world.project) == 0


@pytest.mark.parametrize("restart_after", [5, 30])
@pytest.mark.parametrize("victim", ["target", "source"])
def test_an_agent_killed_mid_migration_never_leaves_two_live_copies(
    make_world: Callable[..., World], victim: str, restart_after: float
) -> None:
    world = make_world(data_mib=2)
    source_data = world.stack_dir / "data"
    before = checksums(source_data, skip=(LOG,))
    agent = world.target if victim == "target" else world.source

    with Sampler(world) as sampler:
        cli = start_migrate(world, "--verify-timeout", "60")
        migration_id = cli.wait_for_id()

        def due() -> bool:
            assert cli.proc.poll() is None, cli.output()
            return kill_moment(world, victim)()

        killed_at = wait_until(f"the moment to kill the {victim} agent", due, timeout=120)
        agent.proc.kill()
        agent.proc.wait()
        on_b_at_kill = [c.status for c in containers(world.docker_b, world.project)]
        time.sleep(restart_after)
        restart_agent(agent)
        code = cli.finish(timeout=240)
        time.sleep(1.5)  # three more samples of the end state
    migration, _ = stored(world.state_dir, migration_id)
    recovery = sampler.serving_for_good_after(killed_at)
    print(
        f"\nkill -9 {victim} agent, restart after {restart_after} s: {migration.state.value} "
        f"(exit {code}), {len(sampler.samples)} samples, {len(sampler.both)} with both running, "
        f"recovery {'never' if recovery is None else f'{recovery:.1f} s'}; "
        f"the stack's containers on B right after the kill: {on_b_at_kill or 'none'}"
    )

    assert sampler.both == [], f"the stack ran on both hosts: {sampler.both}\n{cli.output()}"
    if restart_after > 10:  # the engine retried the agent meanwhile, and the CLI showed it
        assert f"waiting for agent {agent.address} (attempt" in cli.output()
    on_a = running_on(world.docker_a, world.project)
    on_b = running_on(world.docker_b, world.project)
    assert on_a + on_b == 1, (on_a, on_b, cli.output())
    assert recovery is not None
    assert checksums(source_data, skip=(LOG,)) == before
    if migration.state == MigrationState.COMPLETED:
        assert code == 0, cli.output()
        assert_migrated(world)
    else:
        assert (migration.state, code) == (MigrationState.ROLLED_BACK, 3), cli.output()
        assert on_a == 1
        assert target_leftovers(world) == []


def test_a_target_gone_for_longer_than_the_retry_window_needs_attention(
    make_world: Callable[..., World],
) -> None:
    """The target agent dies once the deploy started the containers and stays down beyond
    the (shortened) retry window: nobody knows whether the stack runs there, so the source
    stays stopped and the CLI exits 6. Once the agent is back, `stackferry resume ID` rolls
    back cleanly, and a plain retry then works."""
    world = make_world(data_mib=2)
    with Sampler(world) as sampler:
        cli = start_migrate(world, "--verify-timeout", "60", "--retry-window", "8")
        migration_id = cli.wait_for_id()

        def due() -> bool:
            assert cli.proc.poll() is None, cli.output()
            return kill_moment(world, "target")()

        wait_until("containers started on the target", due, timeout=120)
        world.target.proc.kill()
        world.target.proc.wait()
        assert cli.finish(timeout=180) == 6, cli.output()
        halted, _ = stored(world.state_dir, migration_id)
        assert halted.state == MigrationState.NEEDS_ATTENTION
        assert f"stackferry resume {migration_id}" in halted.error + cli.output()
        assert running_on(world.docker_a, world.project) == 0  # the source stays stopped

        restart_agent(world.target)
        resumed = stackferry("resume", migration_id, "--insecure", state_dir=world.state_dir)
        time.sleep(1.5)
    print(
        f"\nkill -9 target agent, down beyond the retry window: NEEDS_ATTENTION, resumed: "
        f"exit {resumed.returncode}, {len(sampler.samples)} samples, "
        f"{len(sampler.both)} with both running"
    )
    assert resumed.returncode == 3, f"{resumed.stdout}\n{resumed.stderr}"
    assert sampler.both == []
    assert running_on(world.docker_a, world.project) == 1
    assert running_on(world.docker_b, world.project) == 0
    assert target_leftovers(world) == []
    assert not [name for name in snapshots_of(world.source_pool.name) if name.startswith("sf-")]

    # Nothing is left in the way: a plain retry validates and completes.
    again = stackferry("migrate", *world.migrate_flags(), state_dir=world.state_dir)
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert_migrated(world)
