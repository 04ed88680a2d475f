"""A stack whose image exists only on host A: it is copied agent to agent (STREAM_IMAGES)
before the stop, while the app still runs (pre-staging), so the stack runs on host B with an
image no registry serves and the copy costs no downtime. The record's "data moved" is what
the target agent received, by kind, by the agents' own metrics.

The image is `local/busybox:1` tagged under a unique name on engine A only; the tags go from
both engines afterwards (the image itself stays: it is the shared test image).
"""

from __future__ import annotations

import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import docker.errors
import migration_world
import pytest
from conftest import free_port
from migration_world import (
    World,
    build_world,
    containers,
    read_in_container,
    remove_world,
    spec_for,
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import EventKind, MigrationState, StepState
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

if TYPE_CHECKING:
    from conftest import AgentProcess, Pool

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 240


def has_image(docker_host: str, name: str) -> bool:
    client = docker.DockerClient(base_url=docker_host)
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()


def untag(docker_host: str, name: str) -> None:
    """Removes the tag only: the image stays under its other tag (local/busybox:1)."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        client.images.remove(name, noprune=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()


@pytest.fixture
def image_only_on_a(docker_hosts: tuple[str, str]) -> Iterator[str]:
    docker_a, docker_b = docker_hosts
    name = f"local/sfimg-{uuid.uuid4().hex[:12]}:1"
    client = docker.DockerClient(base_url=docker_a)
    try:
        repository, tag = name.rsplit(":", 1)
        assert client.images.get(migration_world.IMAGE).tag(repository, tag)
    finally:
        client.close()
    try:
        assert not has_image(docker_b, name)
        yield name
    finally:
        for host in (docker_a, docker_b):
            untag(host, name)


@pytest.fixture
def metrics_ports() -> dict[str, int]:
    """Agent address -> the port its /metrics is served on."""
    return {}


def scrape(metrics_ports: dict[str, int], agent: AgentProcess) -> str:
    url = f"http://127.0.0.1:{metrics_ports[agent.address]}/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def world(
    image_only_on_a: str,
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    metrics_ports: dict[str, int],
) -> Iterator[World]:
    def start_metered_agent(*args: str, env: dict[str, str] | None = None) -> AgentProcess:
        port = free_port()
        agent = start_agent(*args, "--metrics-listen", f"127.0.0.1:{port}", env=env)
        metrics_ports[agent.address] = port
        return agent

    # The world's compose file names migration_world.IMAGE: the stack runs the A-only tag.
    monkeypatch.setattr(migration_world, "IMAGE", image_only_on_a)
    built = build_world(zfs_pool, start_metered_agent, tmp_path, docker_hosts, data_mib=2)
    yield built
    remove_world(built)  # before the tags go: a container would keep its image


def test_an_image_only_on_the_source_is_copied_to_the_target_before_the_stop(
    world: World, image_only_on_a: str, tmp_path: Path, metrics_ports: dict[str, int]
) -> None:
    (running,) = containers(world.docker_a, world.project, running_only=True)
    assert image_only_on_a in running.image.tags
    sent_before = scrape(metrics_ports, world.source)
    received_before = scrape(metrics_ports, world.target)
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    service = ControllerService(store, AgentDialer(), owner_id="e2e-images", lease_ttl=5)
    try:
        spec = spec_for(world)
        report = service.validate(spec)
        assert report.ok, report.failures()
        (images,) = [c for c in report.checks if c.name == "images_available"]
        assert image_only_on_a in images.detail and "copied from the source" in images.detail

        migration = service.create(spec, start=True)
        finished = service.wait(migration.id, MIGRATION_TIMEOUT)
        assert finished.state == MigrationState.COMPLETED, finished.error
        events = list(service.watch(migration.id, threading.Event()))
    finally:
        service.shutdown()
        store.close()

    # The image is on B now, and B's container of the stack runs it.
    assert has_image(world.docker_b, image_only_on_a)
    (migrated,) = containers(world.docker_b, world.project, running_only=True)
    assert image_only_on_a in migrated.image.tags
    source_lines = world.log_file.read_text().splitlines()
    target_lines = read_in_container(world.docker_b, world.project, "/data/log.txt").splitlines()
    assert target_lines[: len(source_lines)] == source_lines

    # The copy happened in the bulk_send step, before the stop was asked for.
    steps = {s.name: s for s in finished.steps}
    assert steps["deploy"].state == StepState.DONE
    copies = [e for e in events if e.kind == EventKind.LOG and "copying images" in e.message]
    assert copies and {e.step for e in copies} == {"bulk_send"}
    assert image_only_on_a in copies[0].message
    stop_started = steps["stop_source"].started_at
    assert stop_started is not None and copies[-1].time < stop_started
    assert finished.source_stopped_at is not None and copies[-1].time < finished.source_stopped_at
    # Once, by the agents' own count: B finished the bulk zfs send, one per converge round,
    # the final one and one image stream, and took in as many image bytes as A sent. What the
    # record says moved is what B received, kind by kind.
    sent, received = scrape(metrics_ports, world.source), scrape(metrics_ports, world.target)

    def received_of(kind: str) -> float:
        sample = f'stackferry_transfer_received_bytes_total{{kind="{kind}"}}'
        return value(received, sample) - value(received_before, sample)

    images_sent = 'stackferry_transfer_sent_bytes_total{kind="images"}'
    receives = 'stackferry_transfers_total{direction="receive",outcome="ok"}'
    zfs_streams = 2 + len(finished.converge_rounds)
    assert value(received, receives) - value(received_before, receives) == zfs_streams + 1
    assert received_of("images") == value(sent, images_sent) - value(sent_before, images_sent)
    assert received_of("images") > 0
    for kind in ("zfs", "images"):
        assert finished.moved_bytes.get(kind, 0) == received_of(kind), kind
    assert finished.bytes_transferred == received_of("zfs") + received_of("images")
