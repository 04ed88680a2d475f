"""Downtime at the floor, end to end on real zfs-fuse pools, real agents and both Docker
engines: converge rounds before the stop while a writer adds data at a known rate, none when
rounds are 0, and the final deltas of a three-dataset stack sent in parallel (their receives
overlap in time by the target agent's own log).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import AgentProcess, Pool
from migration_world import (
    IMAGE,
    World,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    remove_stack,
    spec_for,
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import (
    MigrationOptions,
    MigrationSpec,
    MigrationState,
)
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 300
WRITE_RATE = 512 << 10  # bytes per second the host-side writer adds while the app runs
LINK_LIMIT = 2 << 20  # the agents' bandwidth limit: the bulk pass of 8 MiB takes ~4 s


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e-downtime", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


class Writer:
    """Appends random data to `path` at WRITE_RATE until stopped (or the file's dataset
    stops being the source's: the migration stopped the app, and we stop with it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        tick = 0.125
        with self.path.open("ab") as out:
            while not self._stop.wait(tick):
                out.write(os.urandom(int(WRITE_RATE * tick)))
                out.flush()


def stop_writer_at_the_stop(service: ControllerService, migration_id: str, writer: Writer) -> None:
    """The writer is the app: it stops when the source stack is asked to stop."""

    def watch() -> None:
        deadline = time.monotonic() + MIGRATION_TIMEOUT
        while time.monotonic() < deadline:
            m = service.get(migration_id)
            if m.source_stopped_at is not None or m.state.is_halted:
                writer.stop()
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


def test_converge_rounds_shrink_the_delta_left_for_the_stop(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=8)
    with Writer(world.stack_dir / "data" / "fill.bin") as writer:
        spec = spec_for(world, bandwidth_limit_bytes_per_second=LINK_LIMIT)
        migration = service.create(spec, start=True)
        stop_writer_at_the_stop(service, migration.id, writer)
        finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    rounds = finished.converge_rounds
    assert len(rounds) > 1, rounds
    assert [r.round for r in rounds] == list(range(1, len(rounds) + 1))
    steps = {s.name: s for s in finished.steps}
    final = steps["incremental_send"].bytes_done
    assert final == finished.downtime_report.final_delta_bytes
    assert 0 < final < rounds[0].bytes, (final, rounds)
    # The status shows the rounds with their sizes, and the clean-up took every round's
    # snapshot with the others.
    assert service.status(migration.id).converge_rounds == tuple(rounds)
    listed = subprocess.run(
        ["zfs", "list", "-H", "-t", "snapshot", "-o", "name"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert migration.id not in listed


def test_no_converge_rounds_sends_the_final_delta_from_the_bulk_snapshot(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=8)
    with Writer(world.stack_dir / "data" / "fill.bin") as writer:
        spec = spec_for(world, bandwidth_limit_bytes_per_second=LINK_LIMIT, converge_max_rounds=0)
        migration = service.create(spec, start=True)
        stop_writer_at_the_stop(service, migration.id, writer)
        finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    assert finished.converge_rounds == []
    events = [e.message for e in service.watch(migration.id, threading.Event())]
    assert not [e for e in events if "converge" in e or f"sf-{migration.id}-1r" in e], events
    # The final delta carries everything written during the bulk pass (~4 s of the writer).
    assert finished.downtime_report.final_delta_bytes > WRITE_RATE


# -- three datasets, final deltas in parallel ------------------------------------------------


def three_dataset_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> tuple[MigrationSpec, AgentProcess, str]:
    """A writer service with a bind mount on each of three datasets (4 MiB in each, growing)."""
    docker_a, docker_b = docker_hosts
    source_pool = zfs_pool("src", size="256M")
    target_pool = zfs_pool("dst", size="256M")
    project = f"sfdt{os.urandom(4).hex()}"
    stack_dir = tmp_path / project
    stack_dir.mkdir()
    mounts = []
    for name in ("a", "b", "c"):
        dataset = f"{source_pool.name}/{project}-{name}"
        subprocess.run(["zfs", "create", dataset], check=True, capture_output=True)
        data = source_pool.mountpoint / f"{project}-{name}"
        (data / "blob.bin").write_bytes(os.urandom(4 << 20))
        mounts.append(f"      - {data}:/{name}\n")
    # 32 KiB into each dataset every 50 ms, and 4 MiB/s a stream: each final delta holds
    # seconds of writes and takes a good part of a second to send, so three sent at once
    # overlap however the machine schedules them (CI's ~80 ms deltas came one after another).
    writes = " ".join(f"head -c 32768 /dev/urandom >> /{n}/log.bin;" for n in ("a", "b", "c"))
    command = f"trap 'exit 0' TERM; while true; do {writes} sleep 0.05; done"
    (stack_dir / "docker-compose.yml").write_text(
        "services:\n"
        "  writer:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{command}"]\n'
        "    volumes:\n" + "".join(mounts)
    )
    common = ["--insecure", "--allowed-path-root", str(tmp_path)]
    source = start_agent(
        *common, "--allowed-dataset-root", source_pool.name, "--docker-host", docker_a
    )
    target = start_agent(
        *common, "--allowed-dataset-root", target_pool.name, "--docker-host", docker_b
    )
    target_base = tmp_path / "hostb"
    target_base.mkdir()
    compose = str(stack_dir / "docker-compose.yml")
    env = {**os.environ, "DOCKER_HOST": docker_a}
    up = ["docker-compose", "-p", project, "-f", compose, "up", "-d"]
    subprocess.run(up, check=True, capture_output=True, timeout=120, env=env)
    spec = MigrationSpec(
        name=project,
        compose_path=compose,
        source_agent=source.address,
        target_agent=target.address,
        target_dataset=f"{target_pool.name}/migrated",
        target_base=str(target_base),
        project_name=project,
        options=MigrationOptions(converge_max_rounds=0, bandwidth_limit_bytes_per_second=4 << 20),
    )
    return spec, target, project


def receives(log_text: str) -> dict[str, list[tuple[float, float]]]:
    """Target dataset -> (start, end) of each committed receive, from the agent's JSON log."""
    started: dict[str, float] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for line in log_text.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("kind") != "zfs" or entry.get("event") not in (
            "receive started",
            "receive committed",
        ):
            continue
        at = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        if entry["event"] == "receive started":
            started[entry["target"]] = at
        else:
            spans.setdefault(entry["target"], []).append((started.pop(entry["target"]), at))
    return spans


def test_the_final_deltas_of_three_datasets_are_received_at_once(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    service: ControllerService,
) -> None:
    spec, target, project = three_dataset_world(zfs_pool, start_agent, tmp_path, docker_hosts)
    try:
        finished = service.wait(service.create(spec, start=True).id, MIGRATION_TIMEOUT)
        assert finished.state == MigrationState.COMPLETED, finished.error
        spans = receives(target.log())
        assert len(spans) == 3, spans
        # Each dataset's last receive is its final delta (bulk first, then the final one).
        finals = [each[-1] for each in spans.values()]
        assert all(len(each) == 2 for each in spans.values()), spans
        latest_start = max(start for start, _ in finals)
        earliest_end = min(end for _, end in finals)
        assert latest_start < earliest_end, finals  # all three ran at one moment
        # The bulk sends, in turn, did not overlap: the parallelism is the final phase's.
        bulks = sorted(each[0] for each in spans.values())
        assert all(a[1] <= b[0] for a, b in zip(bulks, bulks[1:], strict=False)), bulks
    finally:
        remove_stack(docker_hosts, project)
