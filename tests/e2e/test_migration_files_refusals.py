"""What the file mover must refuse, and how a file pass that cannot finish ends: real agents
(directory-only: these stacks keep no data on ZFS), the two real Docker engines and real rsync.

- a bind source that is a link out of the allowed roots is refused at validate, by name;
- an external volume another project uses is refused naming that project, nothing is written;
- a non-empty volume of the same name on the target is refused without --allow-overwrite;
- an external volume this stack alone uses moves under its name; an excluded one stays behind,
  and the record says so;
- a target that runs out of space in the bulk pass fails cleanly: the source never stopped,
  the target keeps nothing; a cancel during the pass leaves nothing behind either;
- a deploy that fails after the final pass rolls back: the source runs again and the target
  keeps neither the volume nor the directory the passes made.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from conftest import AgentProcess
from files_world import service_container
from migration_world import IMAGE, PROJECT_LABEL

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationOptions, MigrationSpec, MigrationState
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.docker]

IDLE = "trap 'exit 0' TERM; while true; do sleep 0.2; done"


@dataclass
class Hosts:
    source: AgentProcess
    target: AgentProcess
    tmp_path: Path
    docker_a: str
    docker_b: str
    project: str

    @property
    def stack_dir(self) -> Path:
        return self.tmp_path / "host-a" / self.project

    @property
    def target_base(self) -> Path:
        return self.tmp_path / "host-b"

    def write_stack(self, compose: str) -> Path:
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        path = self.stack_dir / "docker-compose.yml"
        path.write_text(compose)
        return path

    def up(self) -> None:
        compose = self.stack_dir / "docker-compose.yml"
        argv = ["docker-compose", "-p", self.project, "-f", str(compose), "up", "-d"]
        env = {**os.environ, "DOCKER_HOST": self.docker_a}
        subprocess.run(argv, check=True, capture_output=True, timeout=120, env=env)

    def spec(self, **options: object) -> MigrationSpec:
        return MigrationSpec(
            name=self.project,
            compose_path=str(self.stack_dir / "docker-compose.yml"),
            source_agent=self.source.address,
            target_agent=self.target.address,
            target_dataset="",
            target_base=str(self.target_base),
            target_compose_dir=str(self.target_base / "compose"),
            project_name=self.project,
            options=MigrationOptions(**options),  # type: ignore[arg-type]
        )


def engine(host: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=host)


@pytest.fixture
def hosts(
    start_agent: Callable[..., AgentProcess], tmp_path: Path, docker_hosts: tuple[str, str]
) -> Iterator[Hosts]:
    for folder in ("host-a", "host-a-data", "host-b"):
        (tmp_path / folder).mkdir()
    common = ["--insecure", "--storage-backend", "directory"]
    roots = ["--allowed-path-root", str(tmp_path / "host-a"), "--allowed-path-root"]
    source = start_agent(
        *common, *roots, str(tmp_path / "host-a-data"), "--docker-host", docker_hosts[0]
    )
    target = start_agent(
        *common, "--allowed-path-root", str(tmp_path / "host-b"), "--docker-host", docker_hosts[1]
    )
    made = Hosts(source, target, tmp_path, *docker_hosts, f"sfrefuse{os.urandom(4).hex()}")
    yield made
    for host in docker_hosts:
        client = engine(host)
        try:
            label = {"label": f"{PROJECT_LABEL}={made.project}"}
            for container in client.containers.list(all=True, filters=label):
                container.remove(force=True)
            for container in client.containers.list(all=True, filters={"label": "sftest.other"}):
                container.remove(force=True)
            for network in client.networks.list(filters=label):
                network.remove()
            for volume in client.volumes.list():
                if volume.name.startswith(made.project):
                    volume.remove(force=True)
        finally:
            client.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e-refusals", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def failures(service: ControllerService, spec: MigrationSpec) -> dict[str, str]:
    return {c.name: c.detail for c in service.validate(spec).checks if not c.ok}


def nothing_on_target(hosts: Hosts, volume: str = "") -> None:
    assert sorted(p.name for p in hosts.target_base.iterdir()) == []
    client = engine(hosts.docker_b)
    try:
        label = {"label": f"{PROJECT_LABEL}={hosts.project}"}
        assert client.containers.list(all=True, filters=label) == []
        if volume:
            assert volume not in [v.name for v in client.volumes.list()]
    finally:
        client.close()


def test_a_link_out_of_the_roots_is_refused_at_validate_by_name(
    hosts: Hosts, service: ControllerService
) -> None:
    hosts.write_stack(
        f"services:\n  web:\n    image: {IMAGE}\n    volumes:\n      - ./etclink:/x\n"
    )
    (hosts.stack_dir / "etclink").symlink_to("/etc")
    bad = failures(service, hosts.spec())
    assert (
        f"{hosts.stack_dir}/etclink -> /etc is outside the source agent's allowed path roots"
        in (bad["every_mount_has_a_mover"])
    )


def test_an_external_volume_another_project_uses_is_refused_naming_it(
    hosts: Hosts, service: ControllerService
) -> None:
    shared = f"{hosts.project}-shared"
    client = engine(hosts.docker_a)
    try:
        client.volumes.create(shared)
        client.containers.create(
            IMAGE,
            ["true"],
            volumes={shared: {"bind": "/d", "mode": "rw"}},
            labels={PROJECT_LABEL: "otherproject", "sftest.other": "1"},
        )
    finally:
        client.close()
    hosts.write_stack(
        f'services:\n  web:\n    image: {IMAGE}\n    command: ["sh", "-c", "{IDLE}"]\n'
        "    volumes:\n      - shared:/shared\n"
        f"volumes:\n  shared:\n    external: true\n    name: {shared}\n"
    )
    hosts.up()
    bad = failures(service, hosts.spec())
    assert f"volume {shared} is also used by otherproject" in bad["every_mount_has_a_mover"]

    migration = service.create(hosts.spec(), start=True)
    ended = service.wait(migration.id, 120)
    assert ended.state == MigrationState.FAILED
    assert "otherproject" in ended.error
    nothing_on_target(hosts, shared)
    assert service_container(hosts.docker_a, hosts.project, "web")  # still running on A

    excluded = failures(service, hosts.spec(excludes=("shared",)))
    assert "every_mount_has_a_mover" not in excluded


def test_a_non_empty_volume_of_the_same_name_on_the_target_needs_allow_overwrite(
    hosts: Hosts, service: ControllerService
) -> None:
    name = f"{hosts.project}_data"
    hosts.write_stack(
        f'services:\n  web:\n    image: {IMAGE}\n    command: ["sh", "-c", "{IDLE}"]\n'
        "    volumes:\n      - data:/data\nvolumes:\n  data: {}\n"
    )
    hosts.up()
    for host, text in ((hosts.docker_a, "source"), (hosts.docker_b, "already on the target")):
        subprocess.run(
            ["docker", "-H", host, "run", "--rm", "-v", f"{name}:/d", IMAGE, "sh", "-c",
             f"echo {text} > /d/file"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    bad = failures(service, hosts.spec())
    assert bad["target_volumes_free"].startswith("not empty on the target (--allow-overwrite")
    assert name in bad["target_volumes_free"]
    migration = service.create(hosts.spec(), start=True)
    assert service.wait(migration.id, 120).state == MigrationState.FAILED
    read = ["docker", "-H", hosts.docker_b, "run", "--rm", "-v", f"{name}:/d", IMAGE]
    kept = subprocess.run(
        [*read, "cat", "/d/file"], check=True, capture_output=True, text=True, timeout=60
    )
    assert kept.stdout == "already on the target\n"
    assert "target_volumes_free" not in failures(service, hosts.spec(allow_overwrite=True))


def test_an_external_volume_of_this_stack_alone_moves_and_an_excluded_one_stays(
    hosts: Hosts, service: ControllerService
) -> None:
    alone, cache = f"{hosts.project}-alone", f"{hosts.project}_cache"
    hosts.write_stack(
        f'services:\n  web:\n    image: {IMAGE}\n    command: ["sh", "-c", "{IDLE}"]\n'
        "    volumes:\n      - alone:/alone\n      - cache:/cache\n"
        f"volumes:\n  alone:\n    external: true\n    name: {alone}\n  cache: {{}}\n"
    )
    client = engine(hosts.docker_a)
    try:
        client.volumes.create(alone)
    finally:
        client.close()
    hosts.up()
    for volume in (alone, cache):
        subprocess.run(
            ["docker", "-H", hosts.docker_a, "run", "--rm", "-v", f"{volume}:/d", IMAGE, "sh",
             "-c", f"echo {volume} > /d/file"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    migration = service.create(hosts.spec(excludes=("cache",)), start=True)
    ended = service.wait(migration.id, 180)
    assert ended.state == MigrationState.COMPLETED, ended.error
    web = service_container(hosts.docker_b, hosts.project, "web")
    read = ["docker", "-H", hosts.docker_b, "exec", web, "cat"]
    moved = subprocess.run([*read, "/alone/file"], capture_output=True, text=True, timeout=60)
    assert moved.stdout == f"{alone}\n"
    left = subprocess.run([*read, "/cache/file"], capture_output=True, text=True, timeout=60)
    assert left.returncode != 0  # an empty volume of that name on B: its data stayed
    (excluded,) = [m for m in ended.mounts if m.target == "/cache"]
    assert excluded.mover.value == "excluded" and excluded.source == f"volume {cache}"
    assert [f.name for f in ended.files] == [f"volume {alone}"]


def test_a_full_target_directory_needs_allow_overwrite_and_one_outside_the_roots_is_refused(
    hosts: Hosts, service: ControllerService
) -> None:
    plain_stack(hosts, mib=1)
    taken = hosts.target_base / "plain"
    taken.mkdir()
    (taken / "someone-elses.txt").write_text("kept\n")
    bad = failures(service, hosts.spec())
    assert bad["target_directories_free"] == (
        f"not empty on the target (--allow-overwrite to sync into them): {taken} (1 entries)"
    )
    assert "target_directories_free" not in failures(service, hosts.spec(allow_overwrite=True))
    outside = dataclasses.replace(hosts.spec(), target_base=str(hosts.tmp_path / "elsewhere"))
    denied = failures(service, outside)["target_directories_free"]
    assert "outside this agent's allowed path roots" in denied, denied


def plain_stack(hosts: Hosts, mib: int) -> Path:
    """A running stack whose one mount is a plain directory of `mib` MiB of random data."""
    plain = hosts.tmp_path / "host-a-data" / "plain"
    plain.mkdir()
    for n in range(mib):
        (plain / f"part-{n:03}.bin").write_bytes(os.urandom(1 << 20))
    hosts.write_stack(
        f'services:\n  web:\n    image: {IMAGE}\n    command: ["sh", "-c", "{IDLE}"]\n'
        f"    volumes:\n      - {plain}:/plain\n"
    )
    hosts.up()
    return plain


@pytest.fixture
def small_target_base(hosts: Hosts) -> Iterator[None]:
    """host B's target base on a 16 MiB tmpfs: a real filesystem that runs out of space."""
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "sftest", str(hosts.target_base)],
        check=True, capture_output=True,
    )  # fmt: skip
    yield
    subprocess.run(["umount", str(hosts.target_base)], check=True, capture_output=True)


def test_a_target_out_of_space_fails_cleanly_and_keeps_nothing(
    hosts: Hosts, service: ControllerService, small_target_base: None
) -> None:
    plain_stack(hosts, mib=40)
    migration = service.create(hosts.spec(), start=True)
    ended = service.wait(migration.id, 180)
    assert ended.state == MigrationState.FAILED, ended.error
    assert "bulk_send" in ended.error and "space" in ended.error, ended.error
    assert service_container(hosts.docker_a, hosts.project, "web")  # the source never stopped
    nothing_on_target(hosts)


def test_a_cancel_during_the_file_pass_leaves_nothing_behind(
    hosts: Hosts, service: ControllerService
) -> None:
    plain_stack(hosts, mib=24)
    migration = service.create(hosts.spec(bandwidth_limit_bytes_per_second=2 << 20), start=True)
    deadline = time.monotonic() + 120
    while service.status(migration.id).bytes_done < 2 << 20:  # the pass is under way
        assert not service.get(migration.id).state.is_terminal
        assert time.monotonic() < deadline
        time.sleep(0.1)
    service.cancel(migration.id)
    ended = service.wait(migration.id, 120)
    assert ended.state == MigrationState.CANCELLED, ended.error
    assert service_container(hosts.docker_a, hosts.project, "web")
    nothing_on_target(hosts)


def test_a_failed_deploy_rolls_back_and_the_passes_leave_nothing_on_the_target(
    hosts: Hosts, service: ControllerService
) -> None:
    plain = hosts.tmp_path / "host-a-data" / "plain"
    plain.mkdir()
    (plain / "file").write_text("plain\n")
    never_healthy = (
        '    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      retries: 1\n'
    )
    hosts.write_stack(
        f'services:\n  web:\n    image: {IMAGE}\n    command: ["sh", "-c", "{IDLE}"]\n'
        f"    volumes:\n      - {plain}:/plain\n      - data:/data\n{never_healthy}"
        "volumes:\n  data: {}\n"
    )
    hosts.up()
    migration = service.create(hosts.spec(verify_timeout_seconds=5), start=True)
    ended = service.wait(migration.id, 180)
    assert ended.state == MigrationState.ROLLED_BACK, ended.error
    assert {s.name for s in ended.steps} >= {"incremental_send", "deploy", "rollback"}
    assert service_container(hosts.docker_a, hosts.project, "web")  # runs again on A
    client = engine(hosts.docker_b)
    try:
        assert f"{hosts.project}_data" not in [v.name for v in client.volumes.list()]
    finally:
        client.close()
    assert not (hosts.target_base / "plain").exists()
    removed = [e.message for e in service.watch(migration.id, threading.Event())]
    removed = [m for m in removed if m.startswith("removed from the target")]
    assert removed and f"{hosts.project}_data" in removed[0] and str(plain.name) in removed[0]
