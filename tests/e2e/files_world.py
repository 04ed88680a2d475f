"""A stack whose data lives in every kind of mount, on two hosts, for the file mover's e2e tests.

- `web` bind-mounts `./html` (on a dataset, or a plain directory on a host without ZFS) and a
  plain directory off ZFS (`plain/`) holding a symlink, a hardlink pair, a sparse file, a 0600
  file owned by uid 1000 and an empty directory. When it is stopped (the migration's stop,
  after the bulk pass) its TERM trap changes one file and deletes another there, so only the
  final pass can carry those changes.
- `db` writes 20 MB into the named volume `dbdata`, then appends a numbered line to
  `log.txt` in it every 50 ms until it is stopped.

Trees are compared from inside containers on both engines with the same busybox commands.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from conftest import AgentProcess, Pool
from migration_world import IMAGE, PROJECT_LABEL

from stackferry.controller.domain.model import MigrationOptions, MigrationSpec

BLOB_MIB = 20
DB = (
    "trap 'exit 0' TERM; [ -f /var/lib/db/blob ] || "
    f"dd if=/dev/urandom of=/var/lib/db/blob bs=1048576 count={BLOB_MIB} 2>/dev/null; "
    "touch /var/lib/db/ready; i=0; while true; do i=$$((i+1)); "
    "echo line-$$i >> /var/lib/db/log.txt; sleep 0.05; done"
)
WEB = (
    "trap 'echo changed-at-the-stop > /plain/change.txt; rm -f /plain/delete.txt; exit 0' TERM; "
    "while true; do sleep 0.2; done"
)
# One line per entry of the tree (relative path, type, mode, owner, links; a file's digest,
# size and mtime, a link's target), the same busybox applets on both engines. Not a
# directory's size: that is the filesystem's.
MANIFEST = (
    'cd "$0" && busybox find . | busybox sort | while read -r p; do '
    "busybox stat -c '%n %F %a %u:%g %h %i' \"$p\"; "
    'if [ -L "$p" ]; then echo "  -> $(busybox readlink "$p")"; '
    'elif [ -f "$p" ]; then '
    'echo "  $(busybox md5sum < "$p") $(busybox stat -c \'%s %Y\' "$p")"; fi; '
    "done"
)


@dataclass
class FilesWorld:
    source: AgentProcess
    target: AgentProcess
    project: str
    stack_dir: Path  # compose file and ./html
    plain_dir: Path  # the bind mount off ZFS
    target_base: Path
    target_dataset: str
    docker_a: str
    docker_b: str

    @property
    def compose_path(self) -> Path:
        return self.stack_dir / "docker-compose.yml"

    @property
    def volume(self) -> str:
        return f"{self.project}_dbdata"

    def spec(self, **options: object) -> MigrationSpec:
        return MigrationSpec(
            name=self.project,
            compose_path=str(self.compose_path),
            source_agent=self.source.address,
            target_agent=self.target.address,
            target_dataset=self.target_dataset,
            target_base=str(self.target_base),
            # Without a dataset the compose dir would keep its path, the source's own here.
            target_compose_dir="" if self.target_dataset else str(self.target_base / "compose"),
            project_name=self.project,
            options=MigrationOptions(**options),  # type: ignore[arg-type]
        )


def compose_text(plain_dir: Path) -> str:
    return (
        "services:\n"
        "  web:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{WEB}"]\n'
        "    volumes:\n"
        "      - ./html:/www\n"
        f"      - {plain_dir}:/plain\n"
        "  db:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{DB}"]\n'
        "    volumes:\n"
        "      - dbdata:/var/lib/db\n"
        "volumes:\n"
        "  dbdata: {}\n"
    )


def fill_plain_dir(plain: Path) -> None:
    """Every kind of entry the file mover must keep as it is."""
    plain.mkdir(parents=True)
    (plain / "regular.txt").write_text("regular\n")
    (plain / "change.txt").write_text("before the stop\n")
    (plain / "delete.txt").write_text("deleted at the stop\n")
    (plain / "link").symlink_to("regular.txt")
    (plain / "outside-link").symlink_to("/etc/hostname")  # copied as a link, never followed
    (plain / "hard-a").write_bytes(os.urandom(4096))
    os.link(plain / "hard-a", plain / "hard-b")
    with (plain / "sparse.bin").open("wb") as sparse:
        sparse.truncate(64 << 20)
        sparse.seek(32 << 20)
        sparse.write(b"middle")
    secret = plain / "secret"
    secret.write_text("uid 1000 only\n")
    os.chown(secret, 1000, 1000)
    secret.chmod(0o600)
    (plain / "empty-dir").mkdir()


def build_files_world(
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    source_pool: Pool | None,
    target_pool: Pool | None,
) -> FilesWorld:
    """With pools: the compose dir is a dataset; without: both agents are directory-only."""
    docker_a, docker_b = docker_hosts
    project = f"sffiles{os.urandom(4).hex()}"
    if source_pool is not None:
        dataset = f"{source_pool.name}/{project}"
        subprocess.run(["zfs", "create", dataset], check=True, capture_output=True)
        stack_dir = source_pool.mountpoint / project
    else:
        stack_dir = tmp_path / "host-a" / project
        stack_dir.mkdir(parents=True)
    (stack_dir / "html").mkdir()
    (stack_dir / "html" / "index.html").write_text("<h1>on the compose dir</h1>\n")
    plain = tmp_path / "host-a-plain" / "plain"
    fill_plain_dir(plain)
    (stack_dir / "docker-compose.yml").write_text(compose_text(plain))
    target_base = tmp_path / "host-b"
    target_base.mkdir()
    common = ["--insecure", "--allowed-path-root", str(tmp_path)]
    if source_pool is not None and target_pool is not None:
        source = start_agent(
            *common, "--allowed-dataset-root", source_pool.name, "--docker-host", docker_a
        )
        target = start_agent(
            *common, "--allowed-dataset-root", target_pool.name, "--docker-host", docker_b
        )
        target_dataset = f"{target_pool.name}/migrated"
    else:
        directory = ["--storage-backend", "directory"]
        source = start_agent(*common, *directory, "--docker-host", docker_a)
        target = start_agent(*common, *directory, "--docker-host", docker_b)
        target_dataset = ""
    world = FilesWorld(
        source,
        target,
        project,
        stack_dir,
        plain,
        target_base,
        target_dataset,
        docker_a,
        docker_b,
    )
    up = ["docker-compose", "-p", project, "-f", str(world.compose_path), "up", "-d"]
    try:
        subprocess.run(
            up,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "DOCKER_HOST": docker_a},
        )
        wait_for_db(world)
    except BaseException:
        remove_files_world(world)
        raise
    return world


def run_in(docker_host: str, container: str, *argv: str) -> str:
    done = subprocess.run(
        ["docker", "-H", docker_host, "exec", container, *argv],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def service_container(docker_host: str, project: str, service: str) -> str:
    client = docker.DockerClient(base_url=docker_host)
    try:
        labels = [f"{PROJECT_LABEL}={project}", f"com.docker.compose.service={service}"]
        (found,) = client.containers.list(filters={"label": labels})
        return str(found.name)
    finally:
        client.close()


def wait_for_db(world: FilesWorld, timeout: float = 60) -> None:
    """Until db has written its 20 MB and a few lines."""
    container = service_container(world.docker_a, world.project, "db")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = run_in(
            world.docker_a,
            container,
            "sh",
            "-c",
            "ls /var/lib/db; cat /var/lib/db/log.txt 2>/dev/null | busybox wc -l",
        )
        if "ready" in listing.split() and int(listing.split()[-1]) >= 5:
            return
        time.sleep(0.2)
    raise AssertionError(f"db did not write its data in {timeout} s")


def manifest_in_container(docker_host: str, container: str, path: str) -> list[str]:
    """The MANIFEST of `path` inside a running container, hardlinks as groups (not inodes)."""
    lines = run_in(docker_host, container, "sh", "-c", MANIFEST, path).splitlines()
    return _inodes_as_groups(lines)


def manifest_of_source(world: FilesWorld, mounts: list[str], path: str) -> list[str]:
    """The MANIFEST of `path` in a throwaway container on engine A with `mounts` (-v ...):
    the source's data as a container sees it, after its stack has stopped."""
    argv = ["docker", "-H", world.docker_a, "run", "--rm"]
    for mount in mounts:
        argv += ["-v", mount]
    done = subprocess.run(
        [*argv, IMAGE, "sh", "-c", MANIFEST, path],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return _inodes_as_groups(done.stdout.splitlines())


def _inodes_as_groups(lines: list[str]) -> list[str]:
    """One line per entry (its detail line joined on), the inode as a hardlink group."""
    groups: dict[str, int] = {}
    out: list[str] = []
    for line in lines:
        if line.startswith("  "):
            out[-1] += line
            continue
        head, _, inode = line.rpartition(" ")
        out.append(f"{head} group{groups.setdefault(inode, len(groups))}")
    return out


def remove_files_world(world: FilesWorld) -> None:
    """Containers, networks and volumes of the project on both engines."""
    for host in (world.docker_a, world.docker_b):
        client = docker.DockerClient(base_url=host)
        try:
            label = {"label": f"{PROJECT_LABEL}={world.project}"}
            for container in client.containers.list(all=True, filters=label):
                container.remove(force=True)
            for network in client.networks.list(filters=label):
                network.remove()
            for volume in client.volumes.list():
                if volume.name.startswith(world.project):
                    volume.remove(force=True)
        finally:
            client.close()


def _factory(
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    zfs_pool: Callable[..., Pool] | None,
) -> Iterator[Callable[[], FilesWorld]]:
    built: list[FilesWorld] = []

    def make() -> FilesWorld:
        pools = (zfs_pool("src"), zfs_pool("dst")) if zfs_pool else (None, None)
        world = build_files_world(start_agent, tmp_path, docker_hosts, *pools)
        built.append(world)
        return world

    yield make
    for world in built:
        remove_files_world(world)


@pytest.fixture(name="make_files_world")
def make_files_world_fixture(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> Iterator[Callable[[], FilesWorld]]:
    """Factory: a world whose compose dir is a dataset (zfs agents); removed afterwards."""
    yield from _factory(start_agent, tmp_path, docker_hosts, zfs_pool)


@pytest.fixture(name="make_directory_world")
def make_directory_world_fixture(
    start_agent: Callable[..., AgentProcess], tmp_path: Path, docker_hosts: tuple[str, str]
) -> Iterator[Callable[[], FilesWorld]]:
    """Factory: the same stack with no ZFS at all, between two directory-only agents."""
    yield from _factory(start_agent, tmp_path, docker_hosts, None)
