"""The controller continues a cut bulk send from the target's resume token: the engine's
bulk_send step against two real agent processes whose `zfs` is the FAKE OpenZFS of
tests/fakes (zfs-fuse cannot resume), with a real SQLite store. The controller stops mid-
stream (as on a shutdown); a second driver, as after a restart, runs the step again.

Only the send step runs: the steps before it would need a Compose stack on Docker, and the
state machine around it is tested with real Docker in tests/e2e.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import AgentProcess
from fakes.fake_zfs_host import FakeZfsHost
from transfer_helpers import wait_until

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import (
    DatasetPlan,
    MigrationOptions,
    MigrationSpec,
    MigrationState,
    SnapshotRecord,
    new_migration,
    snapshot_name,
)
from stackferry.controller.engine.driver import Driver
from stackferry.controller.engine.steps.send import send_snapshots
from stackferry.controller.planner import Planner
from stackferry.controller.store.sql import SqlMigrationStore

SIZE = 6 << 20
LIMIT = 2 << 20  # bytes/s: the stream is still running when the controller stops


def test_a_restarted_controller_resumes_the_cut_bulk_send(
    tmp_path: Path, start_agent: Callable[..., AgentProcess]
) -> None:
    src, dst = FakeZfsHost.create(tmp_path / "src"), FakeZfsHost.create(tmp_path / "dst")
    src.zfs("create", "src")
    src.zfs("create", "src/data")
    src.write("src/data", "big.bin", os.urandom(SIZE))
    dst.zfs("create", "dst")
    source = start_agent(
        "--insecure", "--allowed-dataset-root", "src", "--zfs-binary", str(src.binary)
    )
    target = start_agent(
        "--insecure", "--allowed-dataset-root", "dst/apps", "--zfs-binary", str(dst.binary)
    )

    spec = MigrationSpec(
        name="resume",
        compose_path="/srv/app/docker-compose.yml",
        source_agent=source.address,
        target_agent=target.address,
        target_dataset="dst/apps",
        target_base="/srv/target",
        options=MigrationOptions(bandwidth_limit_bytes_per_second=LIMIT),
    )
    m = new_migration(spec, now=0.0)
    name = snapshot_name(m, 1)
    src.zfs("snapshot", f"src/data@{name}")
    guid = src.get(f"src/data@{name}", "guid")
    whole = int(src.zfs("send", "-nP", f"src/data@{name}").split("size\t")[1])
    m.state, m.pending_action = MigrationState.BULK_SENDING, "bulk_send"
    m.datasets = [DatasetPlan("src/data", "/srv/app/data", "dst/apps/data", "/srv/target/data")]
    m.snapshots = [SnapshotRecord("source", "src/data", name, guid)]
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    dialer = AgentDialer()
    try:
        store.create(m)
        store.acquire_lease(m.id, "first", 60)
        first = Driver(store, dialer, Planner(dialer), "first", 60, lambda e: None)
        cut = first.step_context(store.get(m.id))
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                send_snapshots(cut, Action.BULK_SEND, name, "")
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        wait_until(
            lambda: store.get(m.id).step("bulk_send").bytes_done >= 2 << 20,
            timeout=30,
            what="2 MiB sent",
        )
        first.stop()
        thread.join(30)
        # Called directly, the step raises the stream's cancellation (the driver's _run
        # turns it into Interrupted since a stop was asked for).
        assert len(outcome) == 1 and "CANCELLED" in str(outcome[0])
        target_agent = dialer.dial(target.address)

        def token() -> str:
            return target_agent.get_datasets(["dst/apps/data"])[0].receive_resume_token

        wait_until(lambda: token() != "", what="a resume token on the target")
        # What the target kept of the cut stream (how much of it was in flight at the stop
        # varies with load).
        kept = sum(p.stat().st_size for p in (dst.state / "partial").glob("*.part"))
        assert 0 < kept < whole

        store.release_lease(m.id, "first")
        store.acquire_lease(m.id, "second", 60)
        second = Driver(store, dialer, Planner(dialer), "second", 60, lambda e: None)
        again = second.step_context(store.get(m.id))
        # The zfs sends of the bulk step, without its pre-staging and converge rounds: this test
        # is about the cut stream, and its migration has no stack to pre-stage.
        sent = send_snapshots(again, Action.BULK_SEND, name, "")

        # The second driver sent only the rest: the whole stream less what the target kept
        # (give or take the stream's header line, whose length differs between the two).
        assert abs(sent - (whole - kept)) < 64
        assert token() == ""
        assert dst.get(f"dst/apps/data@{name}", "guid") == guid
        assert dst.tree("dst/apps/data") == src.tree("src/data")
        records = [s for s in again.migration.snapshots if s.host == "target"]
        assert [(s.dataset, s.guid) for s in records] == [("dst/apps/data", guid)]
    finally:
        dialer.close()
        store.close()
