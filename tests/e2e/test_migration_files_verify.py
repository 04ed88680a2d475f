"""The manifests after the final file pass are the last word: a target tree that differs from
the source's once the stack is stopped rolls the migration back (source running again, the
target's copy discarded), between two real directory-only agents and the two real engines.

The difference is made where it could really come from, the target host: a file appears in
the target tree after the final pass, right before the target agent reads its manifest. The
hook is a dialer that wraps the real gRPC client of the target agent (no agent or engine
code is replaced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import docker
import pytest
from files_world import (
    PROJECT_LABEL,
    FilesWorld,
    make_directory_world_fixture,  # noqa: F401 (the make_directory_world fixture)
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationState
from stackferry.controller.ports import AgentClient, AgentPing, TransferCall
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore
from stackferry.hostapi import FileManifest, FileTransfer, FileTree

pytestmark = [pytest.mark.docker]

MIGRATION_TIMEOUT = 300
APPEARED = "appeared-on-the-target.txt"


class Hooked:
    """A real agent client. As the source's, it notes each final pass asked for (the pass
    after the stop: FileTransfer.final); as the target's, after that, a file appears in the
    first directory tree whose manifest it is asked for, on the target host."""

    def __init__(self, real: AgentClient, seen: TargetTreeChanges) -> None:
        self._real = real
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def push_files(
        self, transfer: FileTransfer, peer: AgentClient, ticket: str = ""
    ) -> TransferCall:
        if transfer.final:
            self._seen.final_passes += 1
        return self._real.push_files(transfer, cast(Hooked, peer)._real, ticket)

    def file_manifest(self, tree: FileTree) -> FileManifest:
        seen = self._seen
        if seen.final_passes and tree.path and not seen.planted and self is seen.target_client:
            planted = Path(tree.path) / APPEARED
            planted.write_text("not on the source\n")
            seen.planted.append(planted)
        return self._real.file_manifest(tree)


class TargetTreeChanges:
    """AgentDialer, every client Hooked."""

    def __init__(self, target: str) -> None:
        self._real = AgentDialer()
        self._target = target
        self.final_passes = 0
        self.planted: list[Path] = []
        self.target_client: Hooked | None = None

    def dial(self, address: str, migration_id: str = "") -> AgentClient:
        client = Hooked(self._real.dial(address, migration_id), self)
        if address == self._target:
            self.target_client = client
        return cast(AgentClient, client)

    def ping(self, address: str) -> AgentPing:
        return self._real.ping(address)

    def close(self) -> None:
        self._real.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlMigrationStore]:
    made = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    yield made
    made.close()


def project_states(docker_host: str, project: str) -> list[str]:
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
        return sorted(c.status for c in found)
    finally:
        client.close()


def test_a_target_tree_that_differs_after_the_final_pass_rolls_the_migration_back(
    make_directory_world: Callable[[], FilesWorld], store: SqlMigrationStore
) -> None:
    world = make_directory_world()
    spec = world.spec()
    dialer = TargetTreeChanges(spec.target_agent)
    service = ControllerService(store, dialer, owner_id="e2e-verify", lease_ttl=5)
    try:
        migration = service.create(spec, start=True)
        ended = service.wait(migration.id, MIGRATION_TIMEOUT)
    finally:
        service.shutdown()

    assert dialer.final_passes, "no file pass was asked for as the final one"
    assert dialer.planted, "the target's manifest was never read after the final pass"
    assert ended.state == MigrationState.ROLLED_BACK, ended.error
    assert "the trees differ after the final pass" in ended.error
    # The source serves again; nothing of the stack runs on the target.
    assert project_states(world.docker_a, world.project)
    assert set(project_states(world.docker_a, world.project)) == {"running"}
    assert "running" not in project_states(world.docker_b, world.project)
    # The tree the migration created on the target went at the discard, planted file too.
    assert not dialer.planted[0].exists()
