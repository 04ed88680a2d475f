"""agent/stack_precreate.py on real directories: before the deploy mounts a dataset, only the
files the pre-create wrote into its not yet mounted mount point (the bytes the deploy writes
again) go, with the directories that leaves empty; anything else stays."""

from __future__ import annotations

from pathlib import Path

from stackferry.agent.stack_precreate import clear_pre_created

COMPOSE = b"services: {}\n"


def test_the_pre_created_compose_files_go_and_the_mount_point_is_empty_again(
    tmp_path: Path,
) -> None:
    mountpoint = tmp_path / "app"
    (mountpoint / "stack").mkdir(parents=True)
    compose, env = mountpoint / "stack" / "docker-compose.yml", mountpoint / "stack" / ".env"
    compose.write_bytes(COMPOSE)
    env.write_bytes(b"A=1\n")
    removed = clear_pre_created([str(mountpoint)], [(compose, COMPOSE), (env, b"A=1\n")])
    assert set(removed) == {compose, env, mountpoint / "stack"}
    assert mountpoint.is_dir() and list(mountpoint.iterdir()) == []


def test_a_file_with_other_bytes_or_not_written_by_the_deploy_stays(tmp_path: Path) -> None:
    mountpoint = tmp_path / "app"
    mountpoint.mkdir()
    compose, other = mountpoint / "docker-compose.yml", mountpoint / "notes.txt"
    compose.write_bytes(b"services: {web: {}}\n")
    other.write_bytes(COMPOSE)
    assert clear_pre_created([str(mountpoint)], [(compose, COMPOSE)]) == []
    assert compose.read_bytes() == b"services: {web: {}}\n" and other.exists()


def test_a_file_outside_every_mount_point_stays(tmp_path: Path) -> None:
    outside = tmp_path / "docker-compose.yml"
    outside.write_bytes(COMPOSE)
    assert clear_pre_created([str(tmp_path / "app")], [(outside, COMPOSE)]) == []
    assert outside.exists()
