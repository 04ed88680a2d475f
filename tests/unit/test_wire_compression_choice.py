"""The controller asks for a wire compression only when both agents report it in
AgentInfo.compressions; else the streams go uncompressed and the log says why, instead of
the target refusing the first compressed chunk (DATA_LOSS). On the FAKE agents of the fault
matrix (tests/fakes), whose AgentInfo a test sets; the codecs themselves are held by
tests/unit/test_compression.py and the real streams by the e2e compression tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.faults import Faulty
from fakes.scene import SPEC, WAIT_SECONDS, Scene, check_hosts, web_world

from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationState
from stackferry.controller.store.sql import SqlMigrationStore
from stackferry.hostapi import COMPRESSIONS

ZSTD_SPEC = dataclasses.replace(
    SPEC,
    options=dataclasses.replace(SPEC.options, compression="zstd", converge_max_rounds=1),
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


def _migrate(scene: Scene) -> tuple[list[str], list[str]]:
    """Runs ZSTD_SPEC to its end: (the compressions the zfs sends asked for, the log)."""
    service = scene.controller("only")
    ended = service.wait(service.create(ZSTD_SPEC, start=True).id, WAIT_SECONDS)
    assert ended.state == MigrationState.COMPLETED, ended.error
    check_hosts(scene.world, ended, cleanup_failed=False)
    messages = [e.message for e in scene.store.list_events(ended.id, limit=10_000)]
    return [asked for _, asked, _ in scene.world.source.host.zfs_pushes], messages


def test_a_target_without_the_codec_gets_uncompressed_streams_and_the_log_says_so(
    scene: Scene,
) -> None:
    scene.world.source.host.compressions = COMPRESSIONS
    scene.world.target.host.compressions = ("none", "lz4")
    asked, messages = _migrate(scene)
    assert asked and set(asked) == {"none"}
    said = [m for m in messages if "compression zstd asked for" in m]
    # once for the passes before the stop, once for the final one
    assert len(said) == 2, said
    assert "target agent" in said[0] and "has only none, lz4" in said[0]
    assert "source agent" not in said[0]


def test_an_older_source_that_reports_no_compressions_is_not_asked_to_compress(
    scene: Scene,
) -> None:
    scene.world.target.host.compressions = COMPRESSIONS
    asked, messages = _migrate(scene)
    assert set(asked) == {"none"}
    assert any("the source agent" in m and "has only none" in m for m in messages)


def test_agents_that_both_have_the_codec_are_asked_for_it(scene: Scene) -> None:
    scene.world.source.host.compressions = COMPRESSIONS
    scene.world.target.host.compressions = COMPRESSIONS
    asked, messages = _migrate(scene)
    assert asked and set(asked) == {"zstd"}
    assert not [m for m in messages if "asked for, but" in m]
