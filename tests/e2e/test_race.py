"""Two operators, two CLIs with separate state databases, migrate the same stack at once: the
agents' claims let exactly one proceed; the other is refused by the holder's migration id and
touches nothing of the winner's (its received dataset and data stay as the winner made them).
Real agents, zfs-fuse pools and both Docker engines."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from cli_runs import RunningCli, Sampler, start_migrate, stored, wait_until
from migration_world import (
    World,
    assert_migrated,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
)

from stackferry.controller.domain.model import MigrationState

pytestmark = [pytest.mark.zfs, pytest.mark.docker]


def received(world: World) -> dict[str, str]:
    """{dataset: "guid mark"} of every dataset below the target dataset; the mark is the
    migration id the target agent wrote into its stackferry:migration property."""
    done = subprocess.run(
        [
            "zfs",
            "get",
            "-H",
            "-r",
            "-o",
            "name,property,value",
            "guid,stackferry:migration",
            world.target_pool.name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        name, _, value = line.split("\t")
        if name.startswith(world.target_dataset) and "@" not in name:
            found.setdefault(name, []).append(value)
    return {name: " ".join(values) for name, values in found.items()}


def winner_and_loser(first: RunningCli, second: RunningCli) -> tuple[RunningCli, RunningCli]:
    codes = {first.finish(): first, second.finish(): second}
    assert sorted(codes) == [0, 1], f"{first.output()}\n{second.output()}"
    return codes[0], codes[1]


def assert_refused_by_name(world: World, winner: RunningCli, loser: RunningCli) -> None:
    lost, _ = stored(loser.state_dir, loser.migration_id)
    won, _ = stored(winner.state_dir, winner.migration_id)
    assert won.state == MigrationState.COMPLETED
    assert lost.state == MigrationState.FAILED, lost
    assert winner.migration_id in lost.error, lost.error
    assert winner.migration_id in loser.output()
    # The loser never got as far as stopping the source or receiving anything.
    assert lost.source_stopped_at is None
    assert lost.step("bulk_send").bytes_done == 0


def test_two_clis_started_together(make_world: Callable[..., World]) -> None:
    world = make_world(data_mib=2)
    with Sampler(world) as sampler:
        one = start_migrate(world, state_dir=world.state_dir / "one")
        two = start_migrate(world, state_dir=world.state_dir / "two")
        one.wait_for_id(), two.wait_for_id()
        winner, loser = winner_and_loser(one, two)
    assert sampler.both == []
    assert_refused_by_name(world, winner, loser)
    assert_migrated(world)
    datasets = received(world)
    assert datasets, "the winner received nothing"
    assert all(mark.endswith(winner.migration_id) for mark in datasets.values()), datasets


def test_a_second_cli_during_the_bulk_send(make_world: Callable[..., World]) -> None:
    world = make_world(data_mib=8)
    with Sampler(world) as sampler:
        one = start_migrate(world, "--bwlimit", "2M", state_dir=world.state_dir / "one")
        one.wait_for_id()
        wait_until(
            "the first migration's bulk send has moved data",
            lambda: stored(one.state_dir, one.migration_id)[0].step("bulk_send").bytes_done > 0,
            timeout=60,
        )
        during = received(world)
        two = start_migrate(world, state_dir=world.state_dir / "two")
        two.wait_for_id()
        assert two.finish() == 1, two.output()
        # Whatever the winner had received by then is still there after the loser's undo.
        assert set(during) <= set(received(world))
        assert one.finish() == 0, one.output()
    assert sampler.both == []
    assert_refused_by_name(world, one, two)
    assert_migrated(world)
