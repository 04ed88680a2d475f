"""agent/stack_start.py's start after a pre-create, against a fake engine that records its
starts: compose's waves (each service after what it depends on), and the services of one
wave started at once (a barrier that only opens when they are all in flight)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

from stackferry.agent.errors import Unavailable
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.stack_start import start_created
from stackferry.compose.project_files import LoadedProject, load_project
from stackferry.hostapi import ContainerInfo

COMPOSE = """services:
  db: {image: d}
  cache: {image: c}
  queue: {image: q}
  api: {image: a, depends_on: [db, cache]}
  web: {image: w, depends_on: [api]}
"""


class FakeEngine:
    """The two calls start_created makes, on created containers one a service."""

    def __init__(self, services: list[str], at_once: int, refuse: str = "") -> None:
        self.containers = [ContainerInfo(f"p-{s}-1", f"id-{s}", s, "created") for s in services]
        self.started: list[str] = []
        self.first_wave = threading.Barrier(at_once, timeout=10)
        self.refuse = refuse
        self._lock = threading.Lock()

    def project_containers(self, project: str) -> list[ContainerInfo]:
        return list(self.containers)

    def start_container(self, container_id: str) -> None:
        if container_id in ("id-db", "id-cache", "id-queue"):
            self.first_wave.wait()  # BrokenBarrierError unless all three are in flight
        if container_id == self.refuse:
            raise Unavailable(f"the engine refused {container_id}")
        with self._lock:
            self.started.append(container_id)


def project(tmp_path: Path) -> LoadedProject:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    return load_project([str(tmp_path / "compose.yml")], explicit_name="p")


def test_independent_services_start_at_once_and_dependents_after(tmp_path: Path) -> None:
    loaded = project(tmp_path)
    engine = FakeEngine(loaded.start_order(), at_once=3)
    made = frozenset(c.id for c in engine.containers)
    runtime = cast(ContainerRuntime, engine)

    assert start_created(runtime, loaded, loaded.start_order(), made)

    assert set(engine.started[:3]) == {"id-db", "id-cache", "id-queue"}
    assert engine.started[3:] == ["id-api", "id-web"]


def test_a_refused_start_hands_over_to_compose_after_its_wave(tmp_path: Path) -> None:
    loaded = project(tmp_path)
    engine = FakeEngine(loaded.start_order(), at_once=3, refuse="id-cache")
    made = frozenset(c.id for c in engine.containers)

    assert not start_created(cast(ContainerRuntime, engine), loaded, loaded.start_order(), made)

    # The rest of its wave started; nothing that depends on it was.
    assert sorted(engine.started) == ["id-db", "id-queue"]
