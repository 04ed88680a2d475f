"""The start after a pre-create (issue 12): the deploy after the stop starts the containers its
migration's pre-create made through the engine API, in compose's start waves, instead of a
`compose up -d` process (compose v1 spends most of a second in its own start-up). No grpc here.

Only when that is what `up -d` would do: the deploy's request is the pre-create's, byte for
byte (same migration id, -f list, env files, profiles, services, every file's content; the
mounts aside, which the pre-create leaves out), every container of the project is one the
pre-create made and still "created", every service the deploy starts has one, and no
depends_on waits on a condition (service_healthy, service_completed_successfully: compose
waits for those, a start in order does not). Else, or when the engine refuses a start, the
deploy runs `compose up -d` as without a pre-create; it starts what is left and recreates
nothing that matches.

What the pre-create was is kept in memory only: an agent that restarts takes its journaled
pre-create down (journal reconcile), so no pre-created stack outlives what is known here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from stackferry.agent.errors import NotFound, Unavailable
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.compose.profiles import start_waves
from stackferry.compose.project_files import LoadedProject
from stackferry.hostapi import DeployRequest

# The depends_on condition a start in order honours (compose's default).
STARTED = "service_started"
# Engine starts in flight at once within a wave of services that wait on none of each other.
MAX_PARALLEL_STARTS = 8


def request_digest(request: DeployRequest) -> str:
    """The request as the pre-create and the deploy after it both send it."""
    same = dataclasses.replace(request, create_only=False, mounts=())
    return hashlib.sha256(repr(same).encode("utf-8", "surrogateescape")).hexdigest()


class PreCreated:
    """The pre-creates of this agent process, by migration id: the digest of the request and
    the ids of the containers it made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, tuple[str, frozenset[str]]] = {}

    def remember(self, request: DeployRequest, container_ids: Sequence[str]) -> None:
        if request.migration_id:
            with self._lock:
                made = (request_digest(request), frozenset(container_ids))
                self._made[request.migration_id] = made

    def take(self, request: DeployRequest) -> frozenset[str] | None:
        """The containers the pre-create of this very request made, once: whatever the
        deploy does with them, a later deploy of the migration runs `up -d`."""
        with self._lock:
            made = self._made.pop(request.migration_id, None)
        if made is None or made[0] != request_digest(request):
            return None
        return made[1]


def start_created(
    runtime: ContainerRuntime,
    project: LoadedProject,
    services: Sequence[str],
    made: frozenset[str],
) -> bool:
    """Starts the pre-created containers of `services` through the engine, in compose's
    waves (each service after what it depends on; the services of one wave at once); False,
    having started none, when that is not what `up -d` would do, or when the engine refused
    a start (those that started run: `up -d` starts the rest)."""
    if _waits_on_a_condition(project):
        return False
    containers = runtime.project_containers(project.project.name)
    if {c.id for c in containers} != made or any(c.state != "created" for c in containers):
        return False
    by_service = {s: [c for c in containers if c.service == s] for s in services}
    if not services or any(not found for found in by_service.values()):
        return False
    if {c.service for c in containers} - set(services):
        return False  # up -d of the listed services would leave these alone
    try:
        for wave in start_waves(project.services, services):
            ids = [c.id for s in wave for c in sorted(by_service[s], key=lambda c: c.name)]
            _start_at_once(runtime, ids)
    except (NotFound, Unavailable):
        return False  # `up -d` goes on from here and says what is wrong
    return True


def _start_at_once(runtime: ContainerRuntime, container_ids: Sequence[str]) -> None:
    """Starts the containers of one wave together, as compose does, and returns once every
    start has answered; raises the first refusal."""
    if len(container_ids) == 1:
        runtime.start_container(container_ids[0])
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_STARTS, len(container_ids))) as pool:
        started = [pool.submit(runtime.start_container, c) for c in container_ids]
    for each in started:
        each.result()


def _waits_on_a_condition(project: LoadedProject) -> bool:
    config = project.config()
    declared = config.get("services")
    for name in project.active_services:
        service = declared.get(name) if isinstance(declared, dict) else None
        depends = service.get("depends_on") if isinstance(service, dict) else None
        if isinstance(depends, dict) and any(
            isinstance(how, dict) and how.get("condition", STARTED) != STARTED
            for how in depends.values()
        ):
            return True
    return False
