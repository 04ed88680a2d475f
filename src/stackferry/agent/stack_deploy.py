"""The pieces of a deploy that need care: atomic file writes that can be undone, and the wait
until every service runs (or is healthy, where it has a healthcheck). No grpc here."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.hostapi import ContainerInfo

if TYPE_CHECKING:
    from stackferry.agent.journal import Journal


def write_atomic(
    path: Path, text: str | bytes, mode: int = 0o600, owner: tuple[int, int] | None = None
) -> None:
    """Temp file in the same directory, fsync, then rename: readers see old or new, never half.
    `owner` (uid, gid) is given to it when the agent runs as root (no one else may)."""
    content = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, *owner)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class FileWrites:
    """Files written by a deploy, with what they held before, and the directories it made to
    hold them, so a failed deploy is undone."""

    previous: dict[Path, tuple[bytes, int, tuple[int, int]] | None] = field(default_factory=dict)
    made: list[Path] = field(default_factory=list)  # directories, outermost first

    def write(self, path: Path, text: str, mode: int = 0o600) -> None:
        self.write_bytes(path, text.encode("utf-8", "surrogateescape"), mode)

    def write_bytes(
        self, path: Path, content: bytes, mode: int = 0o600, owner: tuple[int, int] | None = None
    ) -> None:
        missing = [p for p in path.parents if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            self.made.append(directory)
        if path not in self.previous:
            found = path.stat() if path.exists() else None
            self.previous[path] = (
                (path.read_bytes(), stat.S_IMODE(found.st_mode), (found.st_uid, found.st_gid))
                if found
                else None
            )
        write_atomic(path, content, mode, owner)

    def undo(self) -> None:
        for path, before in self.previous.items():
            if before is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, *before)
        for directory in reversed(self.made):
            with contextlib.suppress(OSError):  # not empty: someone else wrote there since
                directory.rmdir()


def journal_writes(journal: Journal, migration_id: str, paths: Sequence[Path]) -> None:
    """Records, before a deploy writes them, the files it creates and the directories it makes
    for them (Discard removes them); a file that exists already is not the migration's."""
    for path in paths:
        if not path.parent.exists():
            journal.record_new_dir(migration_id, str(path.parent))
        elif not path.exists():
            journal.record_created(migration_id, "file", str(path))


def failed_containers(containers: Sequence[ContainerInfo]) -> list[ContainerInfo]:
    """Containers that crashed (ContainerInfo.failed: the rule the controller's verify reads)."""
    return [c for c in containers if c.failed]


def services_not_ready(services: Sequence[str], containers: Sequence[ContainerInfo]) -> list[str]:
    """Services without a container yet, or with one not ready (ContainerInfo.ready)."""
    waiting = []
    for service in services:
        own = [c for c in containers if c.service == service]
        if not own or not all(c.ready for c in own):
            waiting.append(service)
    return waiting


@dataclass(frozen=True)
class WaitResult:
    ok: bool
    error: str = ""
    failing: tuple[ContainerInfo, ...] = ()
    ready_seconds: float = 0.0  # the wait's start -> every service first seen ready
    settle_seconds: float = 0.0  # first seen ready -> the settle watch ended


def wait_until_ready(
    runtime: ContainerRuntime,
    project: str,
    services: Sequence[str],
    timeout: float,
    settle: float = 1.0,
    poll: float = 0.1,  # the downtime ends when readiness is seen: 0.5 s added up to 0.5 s
    clock: Callable[[], float] = time.monotonic,
) -> WaitResult:
    """Polls until every service is ready and stays so for ``settle`` seconds (a process
    that dies right after start is then seen dead), a container fails, or ``timeout``."""
    started = clock()
    deadline = started + timeout
    ready_since: float | None = None
    while True:
        containers = runtime.project_containers(project)
        failed = failed_containers(containers)
        if failed:
            return WaitResult(False, "; ".join(c.describe() for c in failed), tuple(failed))
        waiting = services_not_ready(services, containers)
        now = clock()
        if waiting:
            ready_since = None
        elif ready_since is None:
            ready_since = now
        elif now - ready_since >= settle:
            return WaitResult(
                True, ready_seconds=ready_since - started, settle_seconds=now - ready_since
            )
        if now >= deadline:
            stuck = tuple(c for c in containers if c.service in waiting)
            states = ", ".join(c.describe() for c in stuck) or "no containers"
            return WaitResult(
                False,
                f"timed out after {timeout:g} s waiting for services {', '.join(waiting)} "
                f"({states})",
                stuck,
            )
        time.sleep(poll)
