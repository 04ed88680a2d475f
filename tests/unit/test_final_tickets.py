"""The final phase's receive tickets are asked of the target before the stop and presented
by the sends after it (steps/final_tickets.py, engine/tickets.py). On the FAKE agents of the
fault matrix, whose pushes record whether a ticket came with them; a ticket held past its
TTL is not handed out, on a fake clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.faults import Faulty
from fakes.scene import SPEC, WAIT_SECONDS, Scene, check_hosts, web_world

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import EventKind, MigrationState, snapshot_name
from stackferry.controller.engine.tickets import MARGIN_SECONDS, PreparedTickets
from stackferry.controller.store.sql import SqlMigrationStore

ONE_ROUND = dataclasses.replace(
    SPEC, options=dataclasses.replace(SPEC.options, converge_max_rounds=1)
)


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    world = web_world()
    store = SqlMigrationStore(sqlite_url(tmp_path / "c.db"))
    made = Scene(world, store, Faulty(world.source), Faulty(world.target))
    yield made
    for service in made.services:
        service.shutdown()
    store.close()


def test_the_final_sends_present_tickets_prepared_before_the_stop(scene: Scene) -> None:
    service = scene.controller("only")
    ended = service.wait(service.create(ONE_ROUND, start=True).id, WAIT_SECONDS)
    assert ended.state == MigrationState.COMPLETED, ended.error
    check_hosts(scene.world, ended, cleanup_failed=False)

    final = snapshot_name(ended, 2)
    pushes = scene.world.source.host.zfs_pushes
    with_ticket = sorted(snap for snap, _, given in pushes if given)
    assert with_ticket == sorted(f"{d}@{final}" for d in ("tank/web", "tank/web/db")), pushes
    assert len(pushes) == 6  # bulk and the converge round asked for theirs as they went

    events = scene.store.list_events(ended.id, limit=10_000)
    prepared = next(
        i for i, e in enumerate(events) if "receive tickets of the final phase" in e.message
    )
    stop = next(
        i
        for i, e in enumerate(events)
        if e.kind == EventKind.STATE and e.state == MigrationState.STOPPING_SOURCE
    )
    assert events[prepared].step == "bulk_send" and prepared < stop


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_is_handed_out_once_and_not_in_its_last_minute() -> None:
    clock = Clock()
    held = PreparedTickets(clock)
    held.put(("zfs", "m", "a", "g"), "t-a", ttl=900)
    held.put(("zfs", "m", "b", "g"), "t-b", ttl=900)
    assert held.take(("zfs", "m", "a", "g")) == "t-a"
    assert held.take(("zfs", "m", "a", "g")) == ""  # once
    assert held.take(("zfs", "m", "c", "g")) == ""  # never prepared
    clock.now = 900 - MARGIN_SECONDS
    assert held.take(("zfs", "m", "b", "g")) == ""  # too close to its expiry on the target
    assert len(held) == 0
