"""Each named validation check, passing and failing, over facts as the agents report them."""

from __future__ import annotations

import dataclasses

from stackferry.controller.domain.model import FileMove, MigrationSpec, MountEntry, Mover
from stackferry.controller.domain.plan import build_plan, plan_datasets
from stackferry.controller.domain.validation import Facts, evaluate
from stackferry.hostapi import (
    AGENT_API_VERSION,
    AgentInfo,
    AgentPing,
    DatasetInfo,
    DeployCheck,
    DeployChecks,
    ImageInfo,
    MountInfo,
    ServiceInfo,
    StackInfo,
    VolumeInfo,
    VolumeUser,
)

SPEC = MigrationSpec(
    name="web",
    compose_path="/srv/web/docker-compose.yml",
    source_agent="a:1",
    target_agent="b:2",
    target_dataset="dst/stacks",
    target_base="/mnt/stacks",
)
COMPOSE = "services:\n  web:\n    image: local/busybox:1\n    volumes:\n      - /data/web:/w\n"
INFO = AgentInfo(
    version="0.1.0",
    hostname="h",
    api_version=AGENT_API_VERSION,
    storage_backend="zfs",
    rsync_version="3.2.7",
    docker_version="20.10",
    compose_variant="docker-compose",
    compose_version="1.29",
)
STACK = StackInfo(
    project_name="web",
    project_dir="/srv/web",
    compose_path=SPEC.compose_path,
    compose_text=COMPOSE,
    services=(ServiceInfo("web", "local/busybox:1"),),
    images=(ImageInfo("local/busybox:1", True),),
    mounts=(MountInfo("web", "/data/web", "/w", True, "src/web", "/data/web"),),
    datasets=("src/web",),
)
PLAN = build_plan(
    SPEC,
    "web",
    COMPOSE,
    "",
    False,
    plan_datasets({"src/web": "/data/web"}, SPEC, {"src/web": 1000}),
)
DEPLOY_OK = DeployChecks(
    checks=(
        DeployCheck("compose_cli", True, "docker-compose 1.29"),
        DeployCheck("compose_dir", True, "can be written"),
        DeployCheck("images", True, "all present"),
        DeployCheck("ports", True, "all free"),
    )
)
GOOD = Facts(
    target_dataset="dst/stacks",
    source=AgentPing("a:1", True, info=INFO),
    target=AgentPing("b:2", True, info=INFO),
    stack=STACK,
    plan=PLAN,
    target_datasets=(
        DatasetInfo("dst/stacks/web", exists=False),
        DatasetInfo("dst/stacks", exists=True, available_bytes=10_000),
        DatasetInfo("dst", exists=True, available_bytes=10_000),
    ),
    deploy=DEPLOY_OK,
)


def failed(facts: Facts) -> dict[str, str]:
    return {c.name: c.detail for c in evaluate(facts).checks if not c.ok}


def test_all_checks_pass_and_are_named() -> None:
    report = evaluate(GOOD)
    assert report.ok, report.failures()
    assert [c.name for c in report.checks] == [
        "agents_reachable",
        "agents_compatible",
        "compose_parses",
        "source_compose_valid",
        "compose_files_match",
        "project_files_carried",
        "every_mount_has_a_mover",
        "target_space",
        "target_volumes_free",
        "target_directories_free",
        "target_datasets_free",
        "target_compose_dir_free",
        "target_docker",
        "images_available",
        "ports_free",
        "target_compose_cli",
    ]


def test_unreachable_target_fails_every_check_that_needs_it() -> None:
    facts = dataclasses.replace(
        GOOD,
        target=AgentPing("b:2", False, error="connection refused"),
        target_datasets=(),
        deploy=None,
    )
    bad = failed(facts)
    assert "connection refused" in bad["agents_reachable"]
    assert set(bad) >= {"agents_compatible", "target_space", "target_docker", "ports_free"}


def test_incompatible_api_and_storage() -> None:
    other = dataclasses.replace(
        INFO, api_version="stackferry.agent.v9", storage_backend="directory"
    )
    bad = failed(dataclasses.replace(GOOD, target=AgentPing("b:2", True, info=other)))
    assert "stackferry.agent.v9" in bad["agents_compatible"]
    assert "needs 'zfs'" in bad["agents_compatible"]


def test_compose_that_does_not_parse() -> None:
    facts = dataclasses.replace(GOOD, plan=None, plan_error="line 3: not a mapping")
    assert failed(facts)["compose_parses"] == "line 3: not a mapping"


def test_a_refused_mount_fails_validation_by_name() -> None:
    refused = MountEntry("web", "/x", "bind /srv/app/etclink", Mover.REFUSED, "outside the roots")
    plan = dataclasses.replace(PLAN, mounts=(*PLAN.mounts, refused))
    bad = failed(dataclasses.replace(GOOD, plan=plan))
    assert bad["every_mount_has_a_mover"] == "web bind /srv/app/etclink (/x): outside the roots"


def test_a_non_empty_volume_on_the_target_needs_allow_overwrite() -> None:
    move = FileMove("volume app_db", source_volume="app_db", target_volume="app_db")
    plan = dataclasses.replace(PLAN, files=(move,))
    there = VolumeInfo("app_db", exists=True, empty=False, size_bytes=7)
    facts = dataclasses.replace(GOOD, plan=plan, target_volumes=(there,))
    assert failed(facts)["target_volumes_free"] == (
        "taken on the target (--allow-overwrite to sync into them): app_db (7 bytes)"
    )
    used = VolumeInfo("app_db", exists=True, used_by=(VolumeUser("c1", project="other"),))
    assert failed(dataclasses.replace(facts, target_volumes=(used,)))["target_volumes_free"] == (
        "taken on the target (--allow-overwrite to sync into them): app_db (used by other)"
    )
    assert "target_volumes_free" not in failed(dataclasses.replace(facts, allow_overwrite=True))
    empty = VolumeInfo("app_db", exists=True, empty=True)
    assert "target_volumes_free" not in failed(dataclasses.replace(facts, target_volumes=(empty,)))


def test_a_target_directory_must_be_writable_and_empty_unless_allow_overwrite() -> None:
    move = FileMove("/srv/plain", source_path="/srv/plain", target_path="/b/plain")
    plan = dataclasses.replace(PLAN, files=(move,))
    full = dataclasses.replace(GOOD, plan=plan, target_directories=(("/b/plain", 3, ""),))
    assert failed(full)["target_directories_free"] == (
        "not empty on the target (--allow-overwrite to sync into them): /b/plain (3 entries)"
    )
    assert "target_directories_free" not in failed(dataclasses.replace(full, allow_overwrite=True))
    denied = dataclasses.replace(full, target_directories=(("/b/plain", 0, "outside roots"),))
    assert failed(denied)["target_directories_free"] == "/b/plain: outside roots"


def test_files_need_rsync_on_both_agents_and_no_zfs_without_datasets() -> None:
    move = FileMove("/srv/plain", source_path="/srv/plain", target_path="/b/plain")
    plan = dataclasses.replace(PLAN, files=(move,), datasets=())
    directory_only = dataclasses.replace(INFO, storage_backend="directory", rsync_version="")
    facts = dataclasses.replace(GOOD, plan=plan, target=AgentPing("b:2", True, info=directory_only))
    assert failed(facts)["agents_compatible"] == "b:2: no rsync, the file mover needs it"
    with_rsync = dataclasses.replace(directory_only, rsync_version=INFO.rsync_version)
    facts = dataclasses.replace(facts, target=AgentPing("b:2", True, info=with_rsync))
    assert "agents_compatible" not in failed(facts)


def test_target_pool_too_small_for_the_estimate() -> None:
    small = (
        DatasetInfo("dst/stacks", exists=False),
        DatasetInfo("dst", exists=True, available_bytes=10),
    )
    bad = failed(dataclasses.replace(GOOD, target_datasets=small))
    assert bad["target_space"] == "1000 bytes estimated, 10 available in dst"


def test_target_dataset_already_there() -> None:
    taken = (*GOOD.target_datasets, DatasetInfo("dst/stacks/web", exists=True))
    bad = failed(dataclasses.replace(GOOD, target_datasets=taken[1:]))
    assert bad["target_datasets_free"] == "already exist: dst/stacks/web"


def test_compose_dir_holding_another_project_and_ports_in_use() -> None:
    deploy = DeployChecks(
        checks=(
            DeployCheck("compose_dir", False, "already holds project 'other'"),
            DeployCheck("ports", False, "in use: 8080/tcp"),
        )
    )
    bad = failed(dataclasses.replace(GOOD, deploy=deploy))
    assert bad["target_compose_dir_free"] == "already holds project 'other'"
    assert bad["ports_free"] == "in use: 8080/tcp"


def test_no_compose_on_target() -> None:
    bare = dataclasses.replace(INFO, compose_variant="")
    bad = failed(dataclasses.replace(GOOD, target=AgentPing("b:2", True, info=bare)))
    assert "docker compose" in bad["target_docker"]


def test_images_missing_on_target_are_fine_when_the_source_has_them() -> None:
    deploy = dataclasses.replace(DEPLOY_OK, missing_images=("local/busybox:1",))
    report = evaluate(dataclasses.replace(GOOD, deploy=deploy))
    check = next(c for c in report.checks if c.name == "images_available")
    assert check.ok and "copied from the source" in check.detail
    gone = dataclasses.replace(STACK, images=(ImageInfo("local/busybox:1", False),))
    bad = failed(dataclasses.replace(GOOD, deploy=deploy, stack=gone))
    assert bad["images_available"] == "on neither host: local/busybox:1"


def test_every_other_check_of_the_target_agent_is_part_of_the_report() -> None:
    refused = DeployCheck("compose_file", False, "docker-compose refuses it: include")
    deploy = dataclasses.replace(DEPLOY_OK, checks=(*DEPLOY_OK.checks, refused))
    bad = failed(dataclasses.replace(GOOD, deploy=deploy))
    assert bad == {"target_compose_file": "docker-compose refuses it: include"}


def test_a_feature_the_source_compose_cannot_run_fails_by_name() -> None:
    why = "docker-compose 1.29.2 cannot run include (needs Compose v2)"
    stack = dataclasses.replace(STACK, compose_check=why, compose_check_failed=True)
    assert failed(dataclasses.replace(GOOD, stack=stack)) == {"source_compose_valid": why}


def test_files_other_than_those_the_stack_was_started_with_fail_naming_both() -> None:
    both = ("/srv/web/base.yml", "/srv/web/prod.yml")
    stack = dataclasses.replace(STACK, compose_files=both[:1], started_with=both)
    detail = failed(dataclasses.replace(GOOD, stack=stack))["compose_files_match"]
    assert "/srv/web/base.yml, /srv/web/prod.yml" in detail and "given /srv/web/base.yml" in detail
    same = dataclasses.replace(STACK, compose_files=both, started_with=both)
    assert "compose_files_match" not in failed(dataclasses.replace(GOOD, stack=same))
