"""agent/stack_deploy.py's pure parts: readiness of services, atomic and undoable writes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.runtime.compose import V1, V2, ComposeFiles, ComposeVariant, compose_argv
from stackferry.agent.stack_deploy import (
    FileWrites,
    failed_containers,
    services_not_ready,
)
from stackferry.hostapi import ContainerInfo


def c(service: str, state: str = "running", health: str = "", **kw: int) -> ContainerInfo:
    return ContainerInfo(f"p-{service}-1", f"id-{service}", service, state, health, **kw)


def test_ready_when_every_service_runs_and_healthchecks_pass() -> None:
    containers = [c("web", health="healthy"), c("db")]
    assert services_not_ready(["web", "db"], containers) == []
    assert failed_containers(containers) == []


def test_not_ready_while_starting_or_without_containers() -> None:
    containers = [c("web", health="starting"), c("db", state="created")]
    assert services_not_ready(["web", "db", "cache"], containers) == ["web", "db", "cache"]


def test_crashed_restarting_and_unhealthy_containers_fail() -> None:
    crashed = c("a", state="exited", exit_code=1)
    looping = c("b", restart_count=2)
    sick = c("d", health="unhealthy")
    assert failed_containers([crashed, looping, sick, c("ok")]) == [crashed, looping, sick]
    assert crashed.describe() == "p-a-1 exited with code 1"
    assert sick.describe() == "p-d-1 is unhealthy"
    assert looping.describe() == "p-b-1 is running after 2 restarts"


def test_compose_argv_always_passes_project_and_file() -> None:
    variant = ComposeVariant(V1, ("docker-compose",), "1.29.2")
    assert compose_argv(variant, "app", ComposeFiles.of("/s/dc.yml"), "up", "-d") == [
        "docker-compose", "-p", "app", "-f", "/s/dc.yml", "up", "-d",
    ]  # fmt: skip


def test_compose_argv_passes_every_file_env_file_and_profile_in_order() -> None:
    variant = ComposeVariant(V2, ("docker", "compose"), "2.29.0")
    files = ComposeFiles(("/s/base.yml", "/s/prod.yml"), ("/s/a.env", "/s/b.env"), ("x", "y"))
    assert compose_argv(variant, "app", files, "config", "-q") == [
        "docker", "compose", "-p", "app", "-f", "/s/base.yml", "-f", "/s/prod.yml",
        "--env-file", "/s/a.env", "--env-file", "/s/b.env", "--profile", "x", "--profile", "y",
        "config", "-q",
    ]  # fmt: skip


def test_compose_v1_is_refused_a_second_env_file_by_name() -> None:
    variant = ComposeVariant(V1, ("docker-compose",), "1.29.2")
    files = ComposeFiles(("/s/dc.yml",), ("/s/a.env", "/s/b.env"))
    with pytest.raises(InvalidArgument, match=r"reads one --env-file.*/s/a.env, /s/b.env"):
        compose_argv(variant, "app", files, "up")


def test_file_writes_are_0600_and_undo_restores_or_removes(tmp_path: Path) -> None:
    kept, created = tmp_path / "kept.yml", tmp_path / ".env"
    kept.write_text("old")
    writes = FileWrites()
    writes.write(kept, "new")
    writes.write(created, "A=1")
    assert kept.read_text() == "new" and created.read_text() == "A=1"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    writes.undo()
    assert kept.read_text() == "old"
    assert not created.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.yml"]  # no temp files left
