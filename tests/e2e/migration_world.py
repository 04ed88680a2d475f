"""A source host and a target host for end-to-end migrations: two zfs-fuse pools, a compose
stack running on Docker engine A whose container keeps appending to a file on a dataset, and
two real agent processes (A drives engine A, B drives engine B).

Also the e2e tier's one way to start a controller process, drive it with the CLI and wait for a
migration's state. Test modules import the make_world fixture (make_world_fixture) from here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from conftest import AgentProcess, Pool, launch_until_ready, stop_process

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import EventKind, MigrationOptions, MigrationSpec
from stackferry.controller.store.sql import SqlMigrationStore

REPO = Path(__file__).resolve().parents[2]
STACKFERRY = REPO / ".venv" / "bin" / "stackferry"
PROJECT_LABEL = "com.docker.compose.project"
IMAGE = "local/busybox:1"

# The writer appends a numbered line every 50 ms; the trap makes `docker stop` quick.
WRITER = (
    "trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); "
    "echo line-$$i >> /data/log.txt; sleep 0.05; done"
)


@dataclass
class World:
    source: AgentProcess
    target: AgentProcess
    source_pool: Pool
    target_pool: Pool
    dataset: str  # the stack's dataset on the source
    stack_dir: Path  # its mountpoint: compose file and data live in it
    project: str
    target_dataset: str
    target_base: Path
    docker_a: str
    docker_b: str
    state_dir: Path

    @property
    def compose_path(self) -> Path:
        return self.stack_dir / "docker-compose.yml"

    @property
    def log_file(self) -> Path:
        return self.stack_dir / "data" / "log.txt"

    def migrate_flags(self, *extra: str) -> list[str]:
        return [
            "--from",
            self.source.address,
            "--to",
            self.target.address,
            "--compose",
            str(self.compose_path),
            "--target-dataset",
            self.target_dataset,
            "--target-base",
            str(self.target_base),
            "--project-name",
            self.project,
            "--insecure",
            *extra,
        ]


def compose_text(data_dir: Path, healthy_after: float = 0) -> str:
    """The stack: one writer service with an absolute bind mount on the dataset, so the plan
    has a path to translate. With healthy_after, it reports healthy only after that long."""
    health = ""
    if healthy_after:
        health = (
            "    healthcheck:\n"
            '      test: ["CMD", "sh", "-c", "test -f /tmp/ready"]\n'
            "      interval: 1s\n"
            "      retries: 60\n"
        )
    command = WRITER
    if healthy_after:
        command = f"(sleep {healthy_after}; touch /tmp/ready) & {WRITER}"
    return (
        "# the writer keeps appending while the bulk copy runs\n"
        "services:\n"
        "  writer:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{command}"]\n'
        "    volumes:\n"
        f"      - {data_dir}:/data\n"
        f"{health}"
    )


def build_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    data_mib: int = 0,
    healthy_after: float = 0,
) -> World:
    """Pools, the running source stack and two agents; `data_mib` MiB of random data are
    written next to the log so the bulk copy has something to chew on."""
    docker_a, docker_b = docker_hosts
    source_pool = zfs_pool("src", size="256M")
    target_pool = zfs_pool("dst", size="256M")
    project = f"sfe2e{os.urandom(4).hex()}"
    dataset = f"{source_pool.name}/{project}"
    subprocess.run(["zfs", "create", dataset], check=True, capture_output=True)
    stack_dir = source_pool.mountpoint / project
    data_dir = stack_dir / "data"
    data_dir.mkdir()
    if data_mib:
        with (data_dir / "blob.bin").open("wb") as blob:
            for _ in range(data_mib):
                blob.write(os.urandom(1 << 20))
    (stack_dir / "docker-compose.yml").write_text(compose_text(data_dir, healthy_after))
    target_base = tmp_path / f"hostb-{project}"  # one test may build several worlds
    target_base.mkdir()
    common = ["--insecure", "--allowed-path-root", str(tmp_path)]
    source = start_agent(
        *common, "--allowed-dataset-root", source_pool.name, "--docker-host", docker_a
    )
    target = start_agent(
        *common, "--allowed-dataset-root", target_pool.name, "--docker-host", docker_b
    )
    world = World(
        source=source,
        target=target,
        source_pool=source_pool,
        target_pool=target_pool,
        dataset=dataset,
        stack_dir=stack_dir,
        project=project,
        target_dataset=f"{target_pool.name}/migrated",
        target_base=target_base,
        docker_a=docker_a,
        docker_b=docker_b,
        state_dir=tmp_path / "cli-state",
    )
    up = ["docker-compose", "-p", project, "-f", str(world.compose_path), "up", "-d"]
    env = {**os.environ, "DOCKER_HOST": docker_a}
    try:
        subprocess.run(up, check=True, capture_output=True, timeout=120, env=env)
        wait_for_lines(world, 5)
    except BaseException:
        remove_world(world)  # a half-built world must not keep the pools busy
        raise
    return world


# Imported by name into the test modules that use it; `name=` keeps their fixture arguments from
# shadowing the import.
@pytest.fixture(name="make_world")
def make_world_fixture(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> Iterator[Callable[..., World]]:
    """Factory: make_world(data_mib=..., healthy_after=...) builds a world (see build_world);
    every world built is removed after the test."""
    built: list[World] = []

    def make(data_mib: int = 0, healthy_after: float = 0) -> World:
        world = build_world(zfs_pool, start_agent, tmp_path, docker_hosts, data_mib, healthy_after)
        built.append(world)
        return world

    yield make
    for world in built:
        remove_world(world)


def spec_for(world: World, **options: object) -> MigrationSpec:
    """The migration of the world's stack from its source agent to its target agent."""
    return MigrationSpec(
        name=world.project,
        compose_path=str(world.compose_path),
        source_agent=world.source.address,
        target_agent=world.target.address,
        target_dataset=world.target_dataset,
        target_base=str(world.target_base),
        project_name=world.project,
        options=MigrationOptions(**options),  # type: ignore[arg-type]
    )


def wait_for_lines(world: World, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if world.log_file.exists() and len(world.log_file.read_text().splitlines()) >= count:
            return
        time.sleep(0.1)
    seen = sorted(p.name for p in world.log_file.parent.iterdir())
    raise AssertionError(
        f"the writer did not write {count} lines in {timeout} s; {world.log_file.parent}: {seen}"
    )


def remove_world(world: World) -> None:
    """Containers and networks of the project on both engines (what `compose down` does)."""
    remove_stack((world.docker_a, world.docker_b), world.project)


def remove_stack(docker_hosts: tuple[str, ...], project: str) -> None:
    """Containers and networks of `project` on each engine."""
    for host in docker_hosts:
        client = docker.DockerClient(base_url=host)
        try:
            label = {"label": f"{PROJECT_LABEL}={project}"}
            for container in client.containers.list(all=True, filters=label):
                container.remove(force=True)
            for network in client.networks.list(filters=label):
                network.remove()
        finally:
            client.close()


def containers(docker_host: str, project: str, running_only: bool = False) -> list[Any]:
    client = docker.DockerClient(base_url=docker_host)
    try:
        return client.containers.list(
            all=not running_only, filters={"label": f"{PROJECT_LABEL}={project}"}
        )
    finally:
        client.close()


def read_in_container(docker_host: str, project: str, path: str) -> str:
    """The file as the running container of the project sees it through its bind mount."""
    (container,) = containers(docker_host, project, running_only=True)
    done = subprocess.run(
        ["docker", "-H", docker_host, "exec", container.name, "cat", path],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def stackferry(
    *args: str, state_dir: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """The installed CLI as a subprocess, with its embedded controller's state in state_dir."""
    env = {**os.environ, "STACKFERRY_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    env.pop("STACKFERRY_CONTROLLER", None)
    return subprocess.run(
        [str(STACKFERRY), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def parsed(result: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"not JSON ({exc}), exit {result.returncode}\nstdout:\n{result.stdout}\n"
            f"stderr:\n{result.stderr}"
        ) from None


def snapshots_of(pool: str) -> dict[str, str]:
    """{snapshot name after "@": guid} of every snapshot in the pool."""
    done = subprocess.run(
        ["zfs", "list", "-H", "-r", "-t", "snapshot", "-o", "name,guid", pool],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, guid = line.split("\t")
        found[name.split("@", 1)[1]] = guid
    return found


@dataclass
class ControllerProcess:
    address: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        stop_process(self.proc, sig, timeout)


def launch_controller(
    state_dir: Path,
    log_path: Path,
    lease_seconds: float = 3,
    timeout: float = 30,
    extra: tuple[str, ...] = (),
    insecure: bool = True,
) -> ControllerProcess:
    """`python -m stackferry.controller` on a free loopback port, its state in state_dir
    (SQLite), with `extra` command-line flags (plaintext unless insecure=False: then `extra`
    names the TLS files)."""
    ready = log_path.with_suffix(".ready")
    ready.unlink(missing_ok=True)
    argv = [
        str(REPO / ".venv" / "bin" / "python"),
        "-m",
        "stackferry.controller",
        "--listen",
        "127.0.0.1:0",
        *(["--insecure"] if insecure else []),
        "--state-dir",
        str(state_dir),
        "--lease-seconds",
        str(lease_seconds),
        "--ready-file",
        str(ready),
        "--log-format",
        "json",
        *extra,
    ]
    proc = launch_until_ready(argv, ready, log_path, "controller", timeout, append_log=True)
    return ControllerProcess(ready.read_text().strip(), proc, log_path)


class Controllers:
    """Controller processes started one after another, all stopped at the end. Without db_url
    they share one state directory (its SQLite file); with it, they share that database."""

    def __init__(self, tmp_path: Path, db_url: str | None = None, lease_seconds: float = 3):
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.lease_seconds = lease_seconds
        self.started: list[ControllerProcess] = []

    @property
    def store_url(self) -> str:
        """The database they share."""
        return self.db_url or sqlite_url(self.tmp_path / "controller-state" / "controller.db")

    def start(self) -> ControllerProcess:
        n = len(self.started)
        log = self.tmp_path / f"controller-{n}.log"
        extra: tuple[str, ...]
        if self.db_url is None:
            state_dir, extra = self.tmp_path / "controller-state", ()
        else:
            # The state dir holds no database: PostgreSQL does.
            state_dir = self.tmp_path / f"controller-{n}-state"
            extra = ("--db-url", self.db_url, "--owner-id", f"pg-e2e-{n}")
        process = launch_controller(state_dir, log, self.lease_seconds, extra=extra)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


def on_controller(
    world: World, controller: ControllerProcess, *args: str
) -> subprocess.CompletedProcess[str]:
    """The CLI as a client of a controller process, with --json output."""
    return stackferry(
        *args, "--controller", controller.address, "--insecure", "--json", state_dir=world.state_dir
    )


def controller_json(world: World, controller: ControllerProcess, *args: str) -> Any:
    """The CLI's JSON reply from the controller process; the command must succeed."""
    run = on_controller(world, controller, *args)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    return parsed(run)


def start_detached(world: World, controller: ControllerProcess, *flags: str) -> str:
    """`stackferry migrate --detach` of the world's stack on the controller; its migration id."""
    started = controller_json(
        world, controller, "migrate", *world.migrate_flags("--detach", *flags)
    )
    return str(started["id"])


def listed_migration(
    world: World, controller: ControllerProcess, migration_id: str
) -> dict[str, Any]:
    """The migration as `stackferry list` shows it; exactly one with that id."""
    (found,) = [m for m in controller_json(world, controller, "list") if m["id"] == migration_id]
    return found  # type: ignore[no-any-return]


ENDED = ("FAILED", "ROLLED_BACK", "CANCELLED", "COMPLETED")


def wait_for_status(
    world: World,
    controller: ControllerProcess,
    migration_id: str,
    reached: Callable[[dict[str, Any]], bool],
    timeout: float = 90,
) -> dict[str, Any]:
    """Polls `stackferry status` until `reached`; fails if the migration ends first or time runs
    out."""
    deadline = time.monotonic() + timeout
    while True:
        status = controller_json(world, controller, "status", migration_id)
        if reached(status):
            return status  # type: ignore[no-any-return]
        assert status["state"] not in ENDED, status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def bulk_send_moved(min_bytes: int) -> Callable[[dict[str, Any]], bool]:
    """A status predicate: the bulk send runs and has moved more than min_bytes."""
    return lambda s: s["current_step"] == "bulk_send" and s["bytes_done"] > min_bytes


def log_events(controller: ControllerProcess, message: str, migration_id: str) -> int:
    """How many JSON log lines of this controller say `message` about the migration."""
    found = 0
    for line in controller.log().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == message and entry.get("migration_id") == migration_id:
            found += 1
    return found


def steps_done(db_url: str, migration_id: str) -> list[str]:
    """The "<step> done" events the store holds for the migration, oldest first: a step that
    two controllers drove, or that ran again after a restart, is there twice."""
    store = SqlMigrationStore(db_url)
    try:
        events = store.list_events(migration_id, limit=10000)
    finally:
        store.close()
    return [e.message for e in events if e.kind == EventKind.STATE and e.message.endswith(" done")]


def assert_migrated(world: World) -> None:
    """The stack runs on B only, and B's container sees every line A wrote before its stop."""
    assert not containers(world.docker_a, world.project, running_only=True)
    assert len(containers(world.docker_b, world.project, running_only=True)) == 1
    written_on_a = world.log_file.read_text()
    assert read_in_container(world.docker_b, world.project, "/data/log.txt").startswith(
        written_on_a
    )
