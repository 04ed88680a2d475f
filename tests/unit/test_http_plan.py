"""The HTTP plan shape carries what the gRPC plan does: every mount and its mover, the trees
the file mover copies, and every file of the compose project with where it lands and its diff;
the create body takes the -f and --env-file lists, or a running project's name alone."""

from __future__ import annotations

import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.controller.api.convert import plan_to_pb
from stackferry.controller.domain.model import CarriedFilePlan, FileMove, MountEntry, Mover
from stackferry.controller.domain.plan import Plan
from stackferry.controller.http import convert, shapes

PLAN = Plan(
    project_name="web",
    datasets=(),
    path_map=(),
    compose_diff="",
    env_diff="",
    rewrites=(),
    target_compose_dir="/mnt/stacks/web",
    total_bytes=30,
    compose_filename="docker-compose.yml",
    compose_text="services: {}\n",
    env_text="",
    env_exists=False,
    mounts=(
        MountEntry("db", "/var/lib/db", "volume web_db", Mover.FILES, "a named volume", 30, "x"),
        MountEntry("web", "/tmp", "tmpfs", Mover.NOTHING, "tmpfs: nothing to move"),
    ),
    files=(FileMove("volume web_db", source_volume="web_db", target_volume="web_db"),),
    carried_files=(
        CarriedFilePlan(
            "compose", "/srv/web/prod.yml", "/mnt/stacks/web/prod.yml", "prod.yml", True
        ),
        CarriedFilePlan("extends", "/srv/common/base.yml", "/srv/common/base.yml", diff="-a\n+b\n"),
    ),
    compose_files=("/mnt/stacks/web/docker-compose.yml", "/mnt/stacks/web/prod.yml"),
    profiles=("debug",),
    services=("web", "db"),
    discovered_from="labels",
)


def test_the_json_plan_lists_mounts_file_moves_and_carried_files() -> None:
    body = convert.plan_to_json(PLAN).model_dump()
    assert [(m["service"], m["mover"], m["moves_to"]) for m in body["mounts"]] == [
        ("db", "files", "x"),
        ("web", "nothing", ""),
    ]
    assert body["files"] == [
        {"name": "volume web_db", "moves_to": "volume web_db", "estimated_bytes": 0}
    ]
    assert body["carried_files"][1] == {
        "kind": "extends",
        "source_path": "/srv/common/base.yml",
        "target_path": "/srv/common/base.yml",
        "relative": "",
        "inside_data": False,
        "diff": "-a\n+b\n",
    }
    assert body["compose_files"] == list(PLAN.compose_files)
    assert (body["profiles"], body["services"], body["discovered_from"]) == (
        ["debug"],
        ["web", "db"],
        "labels",
    )


def test_the_json_and_grpc_plans_name_the_same_carried_file_fields() -> None:
    message = plan_to_pb(PLAN)
    body = convert.plan_to_json(PLAN).model_dump()
    assert set(pb.CarriedFile.DESCRIPTOR.fields_by_name) == set(body["carried_files"][0])
    assert [f.target_path for f in message.carried_files] == [
        f["target_path"] for f in body["carried_files"]
    ]
    assert list(message.services) == body["services"]


BODY = {
    "name": "web",
    "target_host": "hostb",
    "target_base_path": "/mnt/stacks",
    "source_agent": "hosta:7701",
    "target_dataset": "tank/in",
}


def test_the_create_body_takes_the_file_lists_or_a_project_alone() -> None:
    files = ["/srv/web/base.yml", "/srv/web/prod.yml"]
    body = shapes.CreateMigration.model_validate(
        {**BODY, "compose_files": files, "env_files": ["/srv/web/prod.env"]}
    )
    spec = convert.spec_from_create(body, convert.SpecDefaults())
    assert (spec.compose_path, spec.compose_files) == (files[0], tuple(files))
    assert spec.env_files == ("/srv/web/prod.env",)
    shown = convert.spec_to_json(spec)
    assert (shown.compose_files, shown.env_files) == (files, ["/srv/web/prod.env"])

    alone = shapes.CreateMigration.model_validate({**BODY, "project_name": "web"})
    spec = convert.spec_from_create(alone, convert.SpecDefaults())
    assert (spec.compose_path, spec.stack) == ("", "project web")
    nothing = shapes.CreateMigration.model_validate(BODY)
    with pytest.raises(convert.MissingField, match="or project_name of a running project"):
        convert.spec_from_create(nothing, convert.SpecDefaults())
