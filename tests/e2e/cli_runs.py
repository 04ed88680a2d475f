"""Running `stackferry migrate` as a process that a test may kill, stop or race, and watching the
world it changes: the stack's containers on both engines, the CLI's SQLite store, the data.

Used by test_resume_cli.py, test_crash_fencing.py and test_race.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
from conftest import AgentProcess, launch_until_ready
from migration_world import PROJECT_LABEL, STACKFERRY, World, containers

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import Event, Migration
from stackferry.controller.store.sql import SqlMigrationStore


def cli_env(state_dir: Path) -> dict[str, str]:
    env = {**os.environ, "STACKFERRY_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    env.pop("STACKFERRY_CONTROLLER", None)
    return env


@dataclass
class RunningCli:
    """A `stackferry migrate` in progress; its stdout and stderr go to files next to its state."""

    proc: subprocess.Popen[bytes]
    state_dir: Path
    stdout_path: Path
    stderr_path: Path
    migration_id: str = ""

    def output(self) -> str:
        return (
            f"exit {self.proc.poll()}\nstdout:\n{self.stdout_path.read_text(errors='replace')}\n"
            f"stderr:\n{self.stderr_path.read_text(errors='replace')}"
        )

    def wait_for_id(self, timeout: float = 60) -> str:
        """The id from the CLI's first line ("migration ID: ..."), once it printed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout_path.read_text(errors="replace").splitlines():
                if line.startswith("migration ") and ":" in line:
                    self.migration_id = line.split()[1].rstrip(":")
                    return self.migration_id
            assert self.proc.poll() is None, self.output()
            time.sleep(0.05)
        raise AssertionError(f"no migration id in {timeout} s\n{self.output()}")

    def finish(self, timeout: float = 240) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the CLI did not end in {timeout} s\n{self.output()}") from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.proc.wait(30)


def start_migrate(world: World, *extra: str, state_dir: Path | None = None) -> RunningCli:
    """`stackferry migrate` of the world's stack, running in the background."""
    state = state_dir or world.state_dir
    state.mkdir(parents=True, exist_ok=True)
    n = len(list(state.glob("cli-*.out")))
    stdout_path, stderr_path = state / f"cli-{n}.out", state / f"cli-{n}.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(STACKFERRY), "migrate", *world.migrate_flags(*extra)],
            stdout=stdout,
            stderr=stderr,
            env=cli_env(state),
        )
    return RunningCli(proc, state, stdout_path, stderr_path)


@contextlib.contextmanager
def cli_store(state_dir: Path) -> Iterator[SqlMigrationStore]:
    """The CLI's SQLite store, read by the test directly (the state the CLI left)."""
    store = SqlMigrationStore(sqlite_url(state_dir / "controller.db"))
    try:
        yield store
    finally:
        store.close()


def stored(state_dir: Path, migration_id: str) -> tuple[Migration, list[Event]]:
    with cli_store(state_dir) as store:
        return store.get(migration_id), store.list_events(migration_id, limit=100_000)


def running_on(docker_host: str, project: str) -> int:
    """How many containers of the project run on that engine now."""
    client = docker.DockerClient(base_url=docker_host, timeout=10)
    try:
        label = {"label": f"{PROJECT_LABEL}={project}", "status": "running"}
        return len(client.containers.list(filters=label))
    finally:
        client.close()


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.05) -> float:
    """Polls `check` until it holds; returns when (time.monotonic()); fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not seen in {timeout} s: {what}"
        time.sleep(every)
    return time.monotonic()


@dataclass
class Sample:
    at: float
    on_a: int
    on_b: int


@dataclass
class Sampler:
    """Lists the stack's running containers on both engines every `interval` s, in a thread,
    for the whole run; `both` are the samples where the stack ran on A and on B at once."""

    world: World
    interval: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            on_a = running_on(self.world.docker_a, self.world.project)
            on_b = running_on(self.world.docker_b, self.world.project)
            self.samples.append(Sample(at, on_a, on_b))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - at)))

    @property
    def both(self) -> list[Sample]:
        return [s for s in self.samples if s.on_a and s.on_b]

    def serving_again_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the first later sample with exactly one copy running."""
        for sample in self.samples:
            if sample.at >= moment and sample.on_a + sample.on_b == 1:
                return sample.at - moment
        return None


def checksums(directory: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file below `directory` (relative name -> digest), but `skip`."""
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        name = str(path.relative_to(directory))
        if path.is_file() and name not in skip:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def restart_agent(agent: AgentProcess, timeout: float = 30) -> None:
    """Starts the (killed) agent again with its arguments, on the same port and state dir; the
    AgentProcess then stands for the new process (so the fixture that started it stops it)."""
    assert agent.proc.poll() is not None, "the agent still runs"
    argv = list(agent.args)
    argv[argv.index("--listen") + 1] = agent.address
    ready = Path(argv[argv.index("--ready-file") + 1])
    ready.unlink(missing_ok=True)
    agent.proc = launch_until_ready(argv, ready, agent.log_path, "agent", timeout, append_log=True)


def target_leftovers(world: World) -> list[str]:
    """What of the stack is on the target: datasets below the target dataset, containers of
    the project on engine B, files below the target base."""
    found = [
        f"dataset {name}"
        for name in subprocess.run(
            ["zfs", "list", "-H", "-r", "-o", "name", world.target_pool.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if name.startswith(world.target_dataset)
    ]
    found += [f"container {c.name}" for c in containers(world.docker_b, world.project)]
    found += [f"file {p}" for p in world.target_base.rglob("*") if not p.is_dir()]
    return found
