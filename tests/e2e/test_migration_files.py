"""Every mount moves: a stack with a bind mount on a dataset, a named volume the app writes 20 MB
into and keeps appending to, and a plain directory off ZFS (symlinks, a hardlink pair, a sparse
file, a 0600 file of uid 1000, an empty directory), migrated by ControllerService in-process
between two real agents and the two real Docker engines; and the same stack with no ZFS at all.

The web service changes one file and deletes another in the plain directory when it is stopped
(the migration's stop, after the bulk pass): only the final, delta pass can carry that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from files_world import (
    BLOB_MIB,
    FilesWorld,
    make_directory_world_fixture,  # noqa: F401 (the make_directory_world fixture)
    make_files_world_fixture,  # noqa: F401 (the make_files_world fixture)
    manifest_in_container,
    manifest_of_source,
    run_in,
    service_container,
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import Migration, MigrationState, Mover
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.docker]

MIGRATION_TIMEOUT = 300


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e-files", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def migrate(service: ControllerService, world: FilesWorld) -> Migration:
    migration = service.create(world.spec(), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    return finished


def volume_mountpoint(docker_host: str, name: str) -> str:
    client = docker.DockerClient(base_url=docker_host)
    try:
        return str(client.volumes.get(name).attrs["Mountpoint"])
    finally:
        client.close()


def assert_every_mount_arrived(world: FilesWorld, finished: Migration, html_target: str) -> None:
    # The plan gave every mount a mover, and the record keeps it.
    movers = {(m.service, m.target): m.mover for m in finished.mounts}
    assert movers[("db", "/var/lib/db")] is Mover.FILES
    assert movers[("web", "/plain")] is Mover.FILES

    # The plain directory, as the target's web container sees it, is the source's, entry by
    # entry (type, mode, owner, size, links, mtime, contents, link targets): with the change
    # and the deletion the stop made, which only the final pass carried.
    web = service_container(world.docker_b, world.project, "web")
    on_target = manifest_in_container(world.docker_b, web, "/plain")
    on_source = manifest_of_source(world, [f"{world.plain_dir}:/plain"], "/plain")
    assert on_target == on_source
    assert run_in(world.docker_b, web, "cat", "/plain/change.txt") == "changed-at-the-stop\n"
    assert not any(line.startswith("./delete.txt ") for line in on_target)
    assert any(line.startswith("./secret regular file 600 1000:1000 ") for line in on_target)
    assert any(line.startswith("./empty-dir directory ") for line in on_target)
    assert any(e.endswith("  -> /etc/hostname") for e in on_target)  # stays a link
    hard = [
        re.findall(r" group\d+", e) for e in on_target if e.startswith(("./hard-a ", "./hard-b "))
    ]
    assert len(hard) == 2 and hard[0] == hard[1]  # one inode
    blocks = run_in(world.docker_b, web, "busybox", "stat", "-c", "%b %B", "/plain/sparse.bin")
    count, size = map(int, blocks.split())
    assert count * size < 1 << 20  # 64 MiB long, still sparse

    # The named volume: the 20 MB blob, and every line db appended before the stop.
    db = service_container(world.docker_b, world.project, "db")
    target_volume = manifest_in_container(world.docker_b, db, "/var/lib/db")
    source_volume = manifest_of_source(world, [f"{world.volume}:/v"], "/v")
    # db goes on writing on the target: its log grows and it touches `ready` again.
    kept = ("./log.txt ", "./ready ")
    assert [e for e in target_volume if not e.startswith(kept)] == [
        e for e in source_volume if not e.startswith(kept)
    ]
    blob = run_in(world.docker_b, db, "busybox", "stat", "-c", "%s", "/var/lib/db/blob")
    assert int(blob) == BLOB_MIB << 20
    source_log = (Path(volume_mountpoint(world.docker_a, world.volume)) / "log.txt").read_text()
    assert len(source_log.splitlines()) > 5
    assert run_in(world.docker_b, db, "cat", "/var/lib/db/log.txt").startswith(source_log)

    # The volume on B is the engine's own, under the same name, with compose's labels.
    client = docker.DockerClient(base_url=world.docker_b)
    try:
        labels = client.volumes.get(world.volume).attrs["Labels"]
        (mount,) = [
            m
            for m in client.containers.get(db).attrs["Mounts"]
            if m["Destination"] == "/var/lib/db"
        ]
    finally:
        client.close()
    assert labels["com.docker.compose.project"] == world.project
    assert labels["com.docker.compose.volume"] == "dbdata"
    assert mount["Name"] == world.volume

    # ./html arrived too, where the plan sent it.
    assert run_in(world.docker_b, web, "cat", "/www/index.html") == "<h1>on the compose dir</h1>\n"
    assert (Path(html_target) / "index.html").is_file()

    # The final pass moved only the difference: the 20 MB went with the bulk pass.
    steps = {s.name: s for s in finished.steps}
    assert steps["bulk_send"].bytes_done > BLOB_MIB << 20
    assert steps["incremental_send"].bytes_done < 4 << 20
    assert sum(f.bytes_moved for f in finished.files) > BLOB_MIB << 20


@pytest.mark.zfs
def test_every_mount_moves_with_its_data_and_the_final_pass_carries_the_changes(
    make_files_world: Callable[[], FilesWorld], service: ControllerService
) -> None:
    world = make_files_world()
    finished = migrate(service, world)
    movers = {(m.service, m.target): m.mover for m in finished.mounts}
    assert movers[("web", "/www")] is Mover.ZFS
    assert_every_mount_arrived(world, finished, str(world.target_base / world.project / "html"))


def test_a_stack_with_no_zfs_moves_between_two_directory_only_agents(
    make_directory_world: Callable[[], FilesWorld], service: ControllerService
) -> None:
    world = make_directory_world()
    finished = migrate(service, world)
    movers = {(m.service, m.target): m.mover for m in finished.mounts}
    assert movers[("web", "/www")] is Mover.FILES
    (html,) = [f for f in finished.files if f.source_path == str(world.stack_dir / "html")]
    assert_every_mount_arrived(world, finished, html.target_path)
