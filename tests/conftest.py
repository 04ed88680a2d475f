"""Fixtures shared by every test tier: real zfs-fuse pools, real agent processes, the two
Docker engines and PostgreSQL started by scripts/start-services.sh.

A missing service skips the tests that need it on a developer machine, and fails them
under CI (CI=true), where .ci/run must have started everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKER_A = "unix:///var/run/docker.sock"
DOCKER_B = os.environ.get("SF_DOCKER_B", "unix:///run/stackferry-hostb/docker.sock")
PG_URL = os.environ.get(
    "SF_TEST_PG_URL", "postgresql+psycopg://stackferry:stackferry@127.0.0.1:5432/stackferry_test"
)
TEST_IMAGE = "local/busybox:1"


def missing_service(what: str, provider: str = "scripts/start-services.sh") -> None:
    """Skip locally, fail under CI: CI must have installed every tool and started every
    service (``provider`` is the script that does)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not available, but CI must provide it ({provider})")
    pytest.skip(f"{what} is not available (run {provider} as root)")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _zfs_ok() -> bool:
    if not shutil.which("zpool"):
        return False
    return subprocess.run(["zpool", "list"], capture_output=True).returncode == 0


def _docker_ok(host: str) -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(
        ["docker", "-H", host, "image", "inspect", TEST_IMAGE], capture_output=True
    )
    return probe.returncode == 0


@pytest.fixture(scope="session")
def zfs_available() -> None:
    if not _zfs_ok():
        missing_service("zfs-fuse")


@pytest.fixture(scope="session")
def docker_hosts() -> tuple[str, str]:
    """The two engines standing for host A and host B."""
    for host in (DOCKER_A, DOCKER_B):
        if not _docker_ok(host):
            missing_service(f"the Docker engine at {host} with image {TEST_IMAGE}")
    return DOCKER_A, DOCKER_B


@pytest.fixture(scope="session")
def pg_url() -> str:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any connection failure means "not available"
        missing_service(f"PostgreSQL at {PG_URL} ({type(exc).__name__})")
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL and the URL selecting it (the connection's
    search_path), dropped after the test: concurrent runs never share tables."""
    from urllib.parse import quote

    import sqlalchemy

    schema = unique("sf_test_")
    admin = sqlalchemy.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _zpool_destroy(name: str) -> None:
    # "pool is busy" for a moment after containers that bind-mounted it stop (on a loaded
    # machine, for more than 10 s): retry for up to a minute.
    # A hung zfs-fuse must fail the test, not hang the run: every call is time-limited.
    stderr = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            done = subprocess.run(["zpool", "destroy", "-f", name], capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"zpool destroy {name} hung: zfs-fuse is stuck") from None
        if done.returncode == 0 or b"no such pool" in done.stderr:
            return
        stderr = done.stderr
        time.sleep(0.2)
    raise RuntimeError(f"zpool destroy {name}: {stderr.decode()}")


@dataclass
class Pool:
    name: str
    mountpoint: Path
    image: Path


@pytest.fixture
def zfs_pool(zfs_available: None, tmp_path: Path) -> Iterator[Callable[..., Pool]]:
    """Factory: zfs_pool("src") creates a pool in a 256 MiB image file under tmp_path,
    mounted under tmp_path, with a unique name; every pool is destroyed afterwards."""
    pools: list[Pool] = []

    def make(label: str = "p", size: str = "256M") -> Pool:
        name = unique(f"sf{label}")
        image = tmp_path / f"{name}.img"
        mountpoint = tmp_path / "mnt" / name
        subprocess.run(["truncate", "-s", size, str(image)], check=True)
        subprocess.run(
            ["zpool", "create", "-m", str(mountpoint), name, str(image)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        pool = Pool(name, mountpoint, image)
        pools.append(pool)
        return pool

    yield make
    busy = []  # one pool that stays busy must not leave the others behind
    for pool in reversed(pools):
        try:
            _zpool_destroy(pool.name)
        except RuntimeError as exc:
            busy.append(str(exc))
            continue
        pool.image.unlink(missing_ok=True)
    if busy:
        raise RuntimeError("; ".join(busy))


@dataclass
class AgentProcess:
    address: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        return stop_process(self.proc, sig, timeout)


def stop_process(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> int:
    """Sends `sig`, waits up to `timeout` s, then kills: a stuck process must not outlive
    the test. Returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def launch_until_ready(
    argv: list[str],
    ready: Path,
    log_path: Path,
    what: str,
    timeout: float,
    env: dict[str, str] | None = None,
    append_log: bool = False,
) -> subprocess.Popen[bytes]:
    """Starts `argv` in the repository with stdout and stderr in log_path, and waits until the
    process writes its address to `ready`; fails with the log if it exits or is too slow."""
    with log_path.open("ab" if append_log else "wb") as log_file:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{what} did not start in {timeout} s:\n{log_path.read_text()}")
        time.sleep(0.05)
    return proc


def launch_agent(
    args: list[str], workdir: Path, env: dict[str, str] | None = None, timeout: float = 20
) -> AgentProcess:
    """Starts `python -m stackferry.agent ARGS --listen 127.0.0.1:0` and waits until it serves."""
    workdir.mkdir(parents=True, exist_ok=True)
    name = unique("agent")
    ready = workdir / f"{name}.ready"
    log_path = workdir / f"{name}.log"
    argv = [
        sys.executable,
        "-m",
        "stackferry.agent",
        "--listen",
        "127.0.0.1:0",
        "--ready-file",
        str(ready),
        "--log-format",
        "json",
        "--state-dir",
        str(workdir / f"{name}-state"),
        *args,
    ]
    proc = launch_until_ready(argv, ready, log_path, "agent", timeout, env)
    return AgentProcess(ready.read_text().strip(), proc, log_path, argv)


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """Factory: start_agent("--insecure", "--allowed-dataset-root", "pool/x", ...) starts a real
    agent process on a free loopback port; all are stopped (SIGTERM, then SIGKILL) afterwards."""
    started: list[AgentProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> AgentProcess:
        agent = launch_agent(list(args), tmp_path / "agents", env)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()
