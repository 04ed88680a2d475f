"""The final file passes after the stop run in parallel, as the zfs deltas do (issue 12): a
stack with three plain directories (no dataset under them: the file mover takes them), each
rewritten while the app runs, so each final pass has a delta to send; at the agents'
bandwidth limit each takes about a second, and the target agent's own log shows them
received at one moment. The bulk passes, while the app runs, go one after the other.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import AgentProcess, Pool
from migration_world import IMAGE, remove_stack

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationOptions, MigrationSpec, MigrationState
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 300
LINK_LIMIT = 1 << 20  # bytes per second per stream: a final delta of 1 MiB takes ~1 s
TREES = ("a", "b", "c")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e-files", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def three_tree_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> tuple[MigrationSpec, AgentProcess, str]:
    """A service with a bind mount on each of three directories; it rewrites a 1 MiB file
    of random bytes in each every 0.2 s until it is stopped."""
    docker_a, docker_b = docker_hosts
    target_pool = zfs_pool("dst", size="128M")
    project = f"sffp{os.urandom(4).hex()}"
    stack_dir = tmp_path / project
    stack_dir.mkdir()
    mounts = []
    for name in TREES:
        (stack_dir / name).mkdir()
        (stack_dir / name / "blob.bin").write_bytes(os.urandom(1 << 20))
        mounts.append(f"      - {stack_dir / name}:/{name}\n")
    rewrites = " ".join(
        f"head -c 1048576 /dev/urandom > /{n}/blob.new && mv /{n}/blob.new /{n}/blob.bin;"
        for n in TREES
    )
    command = f"trap 'exit 0' TERM; while true; do {rewrites} sleep 0.2; done"
    (stack_dir / "docker-compose.yml").write_text(
        "services:\n"
        "  writer:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{command}"]\n'
        "    volumes:\n" + "".join(mounts)
    )
    common = ["--insecure", "--allowed-path-root", str(tmp_path)]
    source = start_agent(*common, "--docker-host", docker_a)
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
        options=MigrationOptions(
            converge_max_rounds=0, bandwidth_limit_bytes_per_second=LINK_LIMIT
        ),
    )
    return spec, target, project


def file_receives(log_text: str) -> dict[str, list[tuple[float, float, bool]]]:
    """Tree -> (start, end, final) of each committed file pass, from the agent's JSON log."""
    started: dict[str, float] = {}
    spans: dict[str, list[tuple[float, float, bool]]] = {}
    for line in log_text.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("kind") != "files" or not str(entry.get("event", "")).startswith("receive "):
            continue
        at = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        if entry["event"] == "receive started":
            started[entry["target"]] = at
        elif entry["event"] == "receive committed":
            span = (started.pop(entry["target"]), at, bool(entry["final"]))
            spans.setdefault(entry["target"], []).append(span)
    return spans


def final_sizes(log_text: str) -> list[int]:
    """The bytes each final file pass's receiver got."""
    entries = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    return [
        int(e["bytes"])
        for e in entries
        if e.get("kind") == "files" and e.get("event") == "receive committed" and e["final"]
    ]


def test_the_final_file_passes_of_three_trees_are_received_at_once(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    service: ControllerService,
) -> None:
    spec, target, project = three_tree_world(zfs_pool, start_agent, tmp_path, docker_hosts)
    try:
        finished = service.wait(service.create(spec, start=True).id, MIGRATION_TIMEOUT)
        assert finished.state == MigrationState.COMPLETED, finished.error
        spans = file_receives(target.log())
        assert len(spans) == 3, spans
        assert all([final for _, _, final in each] == [False, True] for each in spans.values())
        finals = [each[-1] for each in spans.values()]
        latest_start = max(start for start, _, _ in finals)
        earliest_end = min(end for _, end, _ in finals)
        assert latest_start < earliest_end, finals  # all three ran at one moment
        bulks = sorted(each[0] for each in spans.values())
        assert all(a[1] <= b[0] for a, b in zip(bulks, bulks[1:], strict=False)), bulks
        # each final pass carried its tree's rewritten 1 MiB (the manifests then matched)
        assert all(size >= 1 << 20 for size in final_sizes(target.log())), target.log()
    finally:
        remove_stack(docker_hosts, project)
