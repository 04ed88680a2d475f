"""The pure planner: datasets below the target parent, path map, compose dir, translation."""

from __future__ import annotations

import dataclasses

import pytest

from stackferry.compose import RewriteKind
from stackferry.controller.domain.model import MigrationOptions, MigrationSpec, PathMapping
from stackferry.controller.domain.plan import (
    build_plan,
    check_spec,
    plan_compose_dir,
    plan_datasets,
    plan_path_map,
    stack_datasets,
)
from stackferry.controller.errors import InvalidArgument
from stackferry.hostapi import MountInfo, StackInfo

SPEC = MigrationSpec(
    name="web",
    compose_path="/srv/web/docker-compose.yml",
    source_agent="hosta:7701",
    target_agent="hostb:7701",
    target_dataset="dst/stacks",
    target_base="/mnt/stacks",
)


def spec(**changes: object) -> MigrationSpec:
    return dataclasses.replace(SPEC, **changes)  # type: ignore[arg-type]


def test_one_dataset_keeps_its_last_component() -> None:
    plans = plan_datasets({"tank/apps/web": "/srv/web"}, SPEC, {"tank/apps/web": 1000})
    assert [(p.target_dataset, p.target_mountpoint, p.estimated_bytes) for p in plans] == [
        ("dst/stacks/web", "/mnt/stacks/web", 1000)
    ]


def test_siblings_and_children_keep_their_relative_layout_parents_first() -> None:
    mountpoints = {
        "tank/apps/web/db": "/srv/web/db",
        "tank/apps/web": "/srv/web",
        "tank/apps/cache": "/cache",
    }
    plans = plan_datasets(mountpoints, SPEC, {})
    assert [(p.source_dataset, p.target_dataset, p.target_mountpoint) for p in plans] == [
        ("tank/apps/cache", "dst/stacks/cache", "/mnt/stacks/cache"),
        ("tank/apps/web", "dst/stacks/web", "/mnt/stacks/web"),
        ("tank/apps/web/db", "dst/stacks/web/db", "/mnt/stacks/web/db"),
    ]


def test_a_pool_root_dataset_is_named_after_the_pool() -> None:
    plans = plan_datasets({"tank": "/tank"}, SPEC, {})
    assert plans[0].target_dataset == "dst/stacks/tank"


def test_no_datasets_no_plans() -> None:
    assert plan_datasets({}, SPEC, {}) == []


def test_path_map_longest_first_and_explicit_maps_win() -> None:
    options = MigrationOptions(
        path_maps=(PathMapping("/srv/web/db", "/elsewhere/db"), PathMapping("/etc/app", "/opt/a"))
    )
    datasets = plan_datasets(
        {"tank/web": "/srv/web", "tank/web/db": "/srv/web/db"}, spec(options=options), {}
    )
    path_map = plan_path_map(datasets, spec(options=options))
    assert path_map == [
        PathMapping("/srv/web/db", "/elsewhere/db"),
        PathMapping("/etc/app", "/opt/a"),
        PathMapping("/srv/web", "/mnt/stacks/web"),
    ]


def test_compose_dir_inside_a_dataset_moves_with_it() -> None:
    path_map = [PathMapping("/srv/web", "/mnt/stacks/web")]
    assert plan_compose_dir("/srv/web/compose", path_map, SPEC) == "/mnt/stacks/web/compose"


def test_compose_dir_outside_every_dataset_stays_and_explicit_dir_wins() -> None:
    path_map = [PathMapping("/data/web", "/mnt/stacks/web")]
    assert plan_compose_dir("/srv/web", path_map, SPEC) == "/srv/web"
    chosen = spec(target_compose_dir="/opt/web")
    assert plan_compose_dir("/srv/web", path_map, chosen) == "/opt/web"


def test_stack_datasets_only_those_holding_bind_mounts() -> None:
    stack = StackInfo(
        project_name="web",
        project_dir="/srv/web",
        compose_path="/srv/web/docker-compose.yml",
        compose_text="",
        mounts=(
            MountInfo("web", "/data/web/a", "/a", True, "tank/web", "/data/web"),
            MountInfo("web", "/data/web/b", "/b", True, "tank/web", "/data/web"),
            MountInfo("web", "/etc/x", "/x"),
        ),
    )
    assert stack_datasets(stack) == {"tank/web": "/data/web"}
    assert stack_datasets(stack, excludes=("/data/web/a", "/data/web/b")) == {}


COMPOSE = """\
services:
  web:  # the app
    image: local/busybox:1
    volumes:
      - /data/web/html:/html
      - ./conf:/conf:ro
      - ${LOGS}:/logs
      - /var/run/docker.sock:/var/run/docker.sock
"""
ENV = "LOGS=/data/web/logs\n"


def test_build_plan_translates_compose_and_env_through_the_dataset_map() -> None:
    the_spec = spec(compose_path="/data/web/app/docker-compose.yml")
    datasets = plan_datasets({"tank/web": "/data/web"}, the_spec, {"tank/web": 4096})
    plan = build_plan(the_spec, "web", COMPOSE, ENV, True, datasets)
    assert plan.target_compose_dir == "/mnt/stacks/web/app"
    assert "/mnt/stacks/web/html:/html" in plan.compose_text
    assert "./conf:/conf:ro" in plan.compose_text  # relative: moves with the project
    assert "# the app" in plan.compose_text
    assert plan.env_text == "LOGS=/mnt/stacks/web/logs\n"
    assert "-      - /data/web/html:/html" in plan.compose_diff
    assert "+      - /mnt/stacks/web/html:/html" in plan.compose_diff
    assert "+LOGS=/mnt/stacks/web/logs" in plan.env_diff
    assert plan.total_bytes == 4096
    assert plan.compose_filename == "docker-compose.yml"
    kinds = {r.before: r.kind for r in plan.rewrites}
    assert kinds["/var/run/docker.sock"] == RewriteKind.UNMAPPED
    assert plan.untranslatable == []


def test_build_plan_with_nothing_to_move_is_an_empty_diff() -> None:
    plan = build_plan(SPEC, "web", "services:\n  a:\n    image: x\n", "", False, [])
    assert plan.compose_diff == "" and plan.env_diff == ""
    assert plan.target_compose_dir == "/srv/web"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("compose_path", "", "compose_path is required"),
        ("compose_path", "relative/docker-compose.yml", "compose_path"),
        ("compose_path", "/srv/../etc/compose.yml", "compose_path"),
        ("source_agent", "nohostport", "source_agent"),
        ("target_agent", "host:port", "target_agent"),
        ("target_dataset", "/dst/stacks", "target_dataset"),
        ("target_dataset", "dst/../x", "target_dataset"),
        ("target_dataset", "dst/stacks@snap", "target_dataset"),
        ("target_base", "mnt", "target_base"),
        ("target_compose_dir", "rel/dir", "target_compose_dir"),
        ("options", MigrationOptions(verify_timeout_seconds=0), "verify_timeout"),
        ("options", MigrationOptions(bandwidth_limit_bytes_per_second=-1), "bandwidth"),
        ("options", MigrationOptions(path_maps=(PathMapping("a", "/b"),)), "path map source"),
    ],
)
def test_check_spec_names_the_bad_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_spec(spec(**{field: value}))


def test_check_spec_accepts_a_good_spec() -> None:
    check_spec(SPEC)
    check_spec(spec(source_agent="[::1]:7701", target_compose_dir="/opt/web"))
