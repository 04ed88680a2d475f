"""The pieces of a deploy that need care: atomic file writes that can be undone, and the wait
until every service runs (or is healthy, where it has a healthcheck). No grpc here."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.hostapi import ContainerInfo


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Temp file in the same directory, fsync, then rename: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class FileWrites:
    """Files written by a deploy, with what they held before, so a failed deploy is undone."""

    previous: dict[Path, str | None] = field(default_factory=dict)

    def write(self, path: Path, text: str) -> None:
        if path not in self.previous:
            self.previous[path] = path.read_text() if path.exists() else None
        write_atomic(path, text)

    def undo(self) -> None:
        for path, before in self.previous.items():
            if before is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, before)


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
    poll: float = 0.5,
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
