"""An embedded-controller migration whose CLI is killed with SIGKILL right after the source was
stopped: the next `stackferry` command on the same state directory takes it up, says so, and
drives it to its end before returning; `stackferry resume ID` does it explicitly. A second
`migrate` of a stack under migration changes nothing and prints the command that resumes the
first; without credentials to dial the agents, a command names the resume command instead.
Real agents, zfs-fuse pools and both Docker engines."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runs import RunningCli, running_on, start_migrate, stored, wait_until
from migration_world import (
    World,
    assert_migrated,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    parsed,
    stackferry,
)

from stackferry.controller.domain.model import MigrationState

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

RESUME_COMMAND = re.compile(r"Resume that one with: (stackferry resume \S+[^\n]*)")


def stopped(pid: int) -> bool:
    """The process is in state T (stopped by a signal), read from /proc."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def freeze_between_writes(cli: RunningCli, database: Path) -> None:
    """SIGSTOPs the CLI at a moment it holds no write transaction on its SQLite store: frozen
    inside one, it would keep every other process from writing ("database is locked")."""
    for _ in range(100):
        cli.kill(signal.SIGSTOP)
        wait_until("the CLI stopped", lambda: stopped(cli.proc.pid), timeout=10)
        probe = sqlite3.connect(database, timeout=0.5)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:
            cli.kill(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the CLI kept its store locked")


def killed_after_the_stop(world: World) -> tuple[str, MigrationState, int]:
    """Starts `stackferry migrate`, SIGKILLs it the moment the source stack stopped running;
    the migration's id, the state it was left in (not ended: the source is down) and the
    killed CLI's pid."""
    cli = start_migrate(world)
    migration_id = cli.wait_for_id()

    def source_stopped() -> bool:
        assert cli.proc.poll() is None, cli.output()
        return running_on(world.docker_a, world.project) == 0

    wait_until("the source stack stopped", source_stopped, timeout=120)
    cli.kill()
    assert socket_dirs_of(cli.proc.pid), "a killed CLI cannot remove its socket's directory"
    migration, _ = stored(world.state_dir, migration_id)
    assert not migration.state.is_terminal, migration.state
    assert running_on(world.docker_a, world.project) == 0
    return migration_id, migration.state, cli.proc.pid


def socket_dirs_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"stackferry-{pid}-*"))


@pytest.mark.parametrize("command", ["status", "list", "watch"])
def test_the_next_command_resumes_it_and_returns_once_it_ended(
    make_world: Callable[..., World], command: str
) -> None:
    world = make_world()
    migration_id, left_in, killed = killed_after_the_stop(world)

    # status and list take no credential flags: the embedded controller dials as the migrate
    # that was killed did. watch dials by its nature and is given them.
    args = {"status": ["status", migration_id], "list": ["list"]}.get(
        command, ["watch", migration_id, "--insecure"]
    )
    run = stackferry(*args, "--json", state_dir=world.state_dir)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert f"resuming migration {migration_id} (interrupted in {left_in.value})" in run.stderr
    if command == "watch":  # one JSON event per line, to the end
        assert json.loads(run.stdout.splitlines()[-1])["state"] == "COMPLETED", run.stdout
    else:
        shown = parsed(run)
        (migration,) = [shown] if command == "status" else shown
        assert migration["state"] == "COMPLETED", migration
    assert stored(world.state_dir, migration_id)[0].state == MigrationState.COMPLETED
    assert_migrated(world)
    assert not socket_dirs_of(killed), "the next CLI removes the killed one's socket directory"


def test_a_second_migrate_changes_nothing_and_names_the_resume_command(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    migration_id, left_in, _ = killed_after_the_stop(world)
    before, events_before = stored(world.state_dir, migration_id)

    # Without a way to dial the agents (no flags, none remembered) nothing is resumed: the
    # command says what to run instead.
    (world.state_dir / "agent-credentials.json").unlink()
    listed = stackferry("list", "--json", state_dir=world.state_dir)
    assert listed.returncode == 0, listed.stderr
    assert f"resume it with: stackferry resume {migration_id}" in listed.stderr
    assert stored(world.state_dir, migration_id)[0].version == before.version

    second = stackferry("migrate", *world.migrate_flags(), state_dir=world.state_dir)
    assert second.returncode == 1, f"{second.stdout}\n{second.stderr}"
    assert f"already being migrated by {migration_id}" in second.stderr
    assert "resuming" not in second.stderr
    after, events_after = stored(world.state_dir, migration_id)
    assert (after.version, after.state) == (before.version, left_in)
    assert [e.id for e in events_after] == [e.id for e in events_before]
    assert running_on(world.docker_a, world.project) == 0
    assert running_on(world.docker_b, world.project) == 0

    match = RESUME_COMMAND.search(second.stderr)
    assert match, second.stderr
    resume_argv = match.group(1).split()
    assert resume_argv[:3] == ["stackferry", "resume", migration_id]
    resumed = stackferry(*resume_argv[1:], state_dir=world.state_dir)
    assert resumed.returncode == 0, f"{resumed.stdout}\n{resumed.stderr}"
    assert "completed" in resumed.stdout
    final, _ = stored(world.state_dir, migration_id)
    assert final.state == MigrationState.COMPLETED
    assert_migrated(world)


def test_a_second_migrate_leaves_a_live_first_one_alone(
    make_world: Callable[..., World],
) -> None:
    world = make_world(data_mib=8)
    first: RunningCli = start_migrate(world, "--bwlimit", "2M")
    migration_id = first.wait_for_id()
    wait_until(
        "the bulk send runs",
        lambda: stored(world.state_dir, migration_id)[0].state == MigrationState.BULK_SENDING,
        timeout=60,
    )
    # Frozen, the first CLI is alive (its lock held) but records nothing meanwhile.
    freeze_between_writes(first, world.state_dir / "controller.db")
    try:
        before, events_before = stored(world.state_dir, migration_id)
        second = stackferry("migrate", *world.migrate_flags(), state_dir=world.state_dir)
        after, events_after = stored(world.state_dir, migration_id)
    finally:
        first.kill(signal.SIGCONT)
    assert second.returncode == 1, f"{second.stdout}\n{second.stderr}"
    assert f"already being migrated by {migration_id}" in second.stderr
    assert RESUME_COMMAND.search(second.stderr), second.stderr
    assert after.version == before.version
    assert [e.id for e in events_after] == [e.id for e in events_before]

    assert first.finish() == 0, first.output()
    assert_migrated(world)


def test_a_migrate_of_another_stack_resumes_the_orphan_first(
    make_world: Callable[..., World],
) -> None:
    """migrate is one of the commands that take up an interrupted migration: run for another
    stack on the same state dir, it says so, drives the orphan to its end, and migrates its own."""
    world = make_world()
    other = make_world()
    migration_id, left_in, _ = killed_after_the_stop(world)

    run = stackferry("migrate", *other.migrate_flags(), state_dir=world.state_dir)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert f"resuming migration {migration_id} (interrupted in {left_in.value})" in run.stderr
    assert stored(world.state_dir, migration_id)[0].state == MigrationState.COMPLETED
    assert_migrated(world)
    assert_migrated(other)
