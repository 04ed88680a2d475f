"""The installed `stackferry` CLI as a subprocess against real agents, zfs-fuse pools and the two
Docker engines: agents ping, plan, validate, migrate (embedded controller), rollback, cancel
(separate controller process), --json outputs and exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import free_port
from migration_world import (
    ControllerProcess,
    World,
    assert_migrated,
    bulk_send_moved,
    containers,
    controller_json,
    launch_controller,
    listed_migration,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    parsed,
    stackferry,
    start_detached,
    wait_for_status,
)

if TYPE_CHECKING:
    from conftest import AgentProcess

pytestmark = [pytest.mark.zfs, pytest.mark.docker]


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def test_agents_ping(
    zfs_available: None, start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    agent = start_agent("--insecure")
    state = tmp_path / "state"
    ok = stackferry("agents", "ping", agent.address, "--insecure", "--json", state_dir=state)
    assert ok.returncode == 0, ok.stderr
    reply = parsed(ok)
    assert reply["reachable"] is True
    assert reply["version"]
    assert reply["hostname"]

    text = stackferry("agents", "ping", agent.address, "--insecure", state_dir=state)
    assert text.returncode == 0
    assert agent.address in text.stdout

    dead = stackferry("agents", "ping", f"127.0.0.1:{free_port()}", "--insecure", state_dir=state)
    assert dead.returncode == 5
    assert "✗" in dead.stdout


def test_usage_errors_and_unknown_ids(tmp_path: Path) -> None:
    state = tmp_path / "state"
    missing_flags = stackferry("migrate", "--from", "127.0.0.1:1", "--insecure", state_dir=state)
    assert missing_flags.returncode == 2
    assert "--to" in missing_flags.stderr
    relative = stackferry(
        "plan",
        "--insecure",
        *("--from", "127.0.0.1:1", "--to", "127.0.0.1:2", "--compose", "dc.yml"),
        *("--target-dataset", "tank/x", "--target-base", "/srv/x"),
        state_dir=state,
    )
    assert relative.returncode == 2
    assert "absolute" in relative.stderr
    no_credentials = stackferry("agents", "ping", "127.0.0.1:1", state_dir=state)
    assert no_credentials.returncode == 2
    assert stackferry("status", state_dir=state).returncode == 2
    assert stackferry("watch", "x", "--bogus", state_dir=state).returncode == 2

    unknown = stackferry("status", "0" * 32, state_dir=state)
    assert unknown.returncode == 1
    assert "not_found" in unknown.stderr
    empty = stackferry("list", "--json", state_dir=state)
    assert empty.returncode == 0
    assert parsed(empty) == []
    unreachable = stackferry(
        "list", "--controller", f"127.0.0.1:{free_port()}", "--insecure", state_dir=state
    )
    assert unreachable.returncode == 5


def test_plan_and_validate(world: World) -> None:
    plan_run = stackferry("plan", *world.migrate_flags(), "--json", state_dir=world.state_dir)
    assert plan_run.returncode == 0, plan_run.stderr
    plan = parsed(plan_run)
    assert plan["project_name"] == world.project
    (dataset,) = plan["datasets"]
    assert dataset["source_dataset"] == world.dataset
    assert dataset["target_dataset"].startswith(world.target_dataset + "/")
    assert dataset["target_mountpoint"].startswith(str(world.target_base))
    assert dataset["estimated_bytes"] > 0
    assert f"+      - {dataset['target_mountpoint']}/data:/data" in plan["compose_diff"]
    assert f"-      - {world.stack_dir}/data:/data" in plan["compose_diff"]

    text = stackferry("plan", *world.migrate_flags(), state_dir=world.state_dir)
    assert text.returncode == 0, text.stderr
    assert world.dataset in text.stdout

    validate_run = stackferry(
        "validate", *world.migrate_flags(), "--json", state_dir=world.state_dir
    )
    report = parsed(validate_run)
    assert validate_run.returncode == 0, report
    assert report["ok"] is True
    assert len(report["checks"]) >= 5
    assert all(check["name"] and check["ok"] for check in report["checks"])

    shown = stackferry("validate", *world.migrate_flags(), state_dir=world.state_dir)
    assert shown.returncode == 0
    assert "✓" in shown.stdout
    assert "✗" not in shown.stdout

    # Nothing was changed on either host by the dry runs.
    assert not containers(world.docker_b, world.project)
    assert len(containers(world.docker_a, world.project, running_only=True)) == 1


def test_migrate_end_to_end(world: World) -> None:
    run = stackferry("migrate", *world.migrate_flags(), state_dir=world.state_dir)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "completed" in run.stdout
    assert "downtime" in run.stdout

    listed = parsed(stackferry("list", "--json", state_dir=world.state_dir))
    (migration,) = listed
    assert migration["state"] == "COMPLETED"
    assert migration["bytes_transferred"] > 0
    assert 0 <= migration["downtime_seconds"] < 120
    steps = {s["name"]: s for s in migration["steps"]}
    assert steps["bulk_send"]["state"] == "done"
    assert steps["incremental_send"]["state"] == "done"

    status = parsed(stackferry("status", migration["id"], "--json", state_dir=world.state_dir))
    assert status["state"] == "COMPLETED"
    assert status["progress_percent"] == 100

    # The source is stopped; what it wrote before the stop is on B, where the writer goes on.
    assert_migrated(world)
    assert world.log_file.read_text().count("\n") > 5

    deleted = stackferry("delete", migration["id"], state_dir=world.state_dir)
    assert deleted.returncode == 0
    assert stackferry("status", migration["id"], state_dir=world.state_dir).returncode == 1


@pytest.fixture
def slow_world(make_world: Callable[..., World]) -> World:
    return make_world(healthy_after=600)


def test_rollback_when_the_target_never_becomes_healthy(slow_world: World) -> None:
    world = slow_world
    run = stackferry(
        "migrate", *world.migrate_flags("--verify-timeout", "3"), state_dir=world.state_dir
    )
    assert run.returncode == 3, f"{run.stdout}\n{run.stderr}"
    assert "rolled_back" in run.stdout
    (migration,) = parsed(stackferry("list", "--json", state_dir=world.state_dir))
    assert migration["state"] == "ROLLED_BACK"
    assert migration["error"]
    assert len(containers(world.docker_a, world.project, running_only=True)) == 1
    assert not containers(world.docker_b, world.project, running_only=True)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[ControllerProcess]:
    process = launch_controller(tmp_path / "controller-state", tmp_path / "controller.log")
    yield process
    process.stop()


# At 1 MiB/s the bulk copy of 8 MiB runs for seconds after its first byte, when the cancel comes.
BIG_MIB = 8


@pytest.fixture
def big_world(make_world: Callable[..., World]) -> World:
    return make_world(data_mib=BIG_MIB)


def test_cancel_during_the_bulk_copy(big_world: World, controller: ControllerProcess) -> None:
    world = big_world
    migration_id = start_detached(world, controller, "--bwlimit", "1M")
    wait_for_status(world, controller, migration_id, bulk_send_moved(0), timeout=60)

    remote = ("--controller", controller.address, "--insecure")
    cancelled = stackferry("cancel", migration_id, *remote, state_dir=world.state_dir)
    assert cancelled.returncode == 0, f"{cancelled.stdout}\n{cancelled.stderr}"
    final = controller_json(world, controller, "status", migration_id)
    assert final["state"] == "CANCELLED"
    steps = {s["name"]: s for s in listed_migration(world, controller, migration_id)["steps"]}
    # The cancel stopped the copy: it did not run to its end first.
    assert steps["bulk_send"]["error"] == "cancelled", steps["bulk_send"]
    assert 0 < int(steps["bulk_send"]["bytes_done"]) < BIG_MIB << 20, steps["bulk_send"]
    # The source never stopped serving; the target runs nothing of the stack.
    assert len(containers(world.docker_a, world.project, running_only=True)) == 1
    assert not containers(world.docker_b, world.project)
