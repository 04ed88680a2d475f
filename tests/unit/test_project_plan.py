"""The plan of a whole compose project: every file the source agent sent is translated where it
is written, kept in its place, carried as a file when the migrated data does not hold it, and
what keeps a file from being carried is refused by name; the deploy runs the same -f list,
env files, profiles and only the services that ran."""

from __future__ import annotations

import dataclasses

import pytest

from stackferry.controller.domain.model import (
    Migration,
    MigrationSpec,
    PathMapping,
    SourceProject,
)
from stackferry.controller.domain.plan import Plan, build_plan, check_spec, plan_datasets
from stackferry.controller.domain.validation import Facts, evaluate
from stackferry.controller.errors import InvalidArgument
from stackferry.controller.planner import Planner, deploy_request
from stackferry.hostapi import AgentPing, ProjectFile, StackInfo

SPEC = MigrationSpec(
    name="web",
    compose_path="/srv/web/docker-compose.yml",
    source_agent="a:1",
    target_agent="b:2",
    target_dataset="dst/stacks",
    target_base="/mnt/stacks",
)
BASE = """\
# the base file: comments stay
services:
  web:
    extends:
      file: ../common/base.yml  # a service of another directory
      service: app
    env_file: app.env
    volumes:
      - ./data:/data
    secrets: [token]
  debug:
    image: local/busybox:1
    profiles: [debug]
  tools:
    image: local/busybox:1
    profiles: [tools]
secrets:
  token:
    file: /etc/web/token
"""
OVERRIDE = """\
services:
  web:
    environment:
      MODE: override  # added by the override
    volumes:
      - ${LOGS}:/logs
"""
COMMON = "services:\n  app:\n    image: local/busybox:1  # shared\n"
FILES = (
    ProjectFile("/srv/web/docker-compose.yml", "compose", "docker-compose.yml", BASE.encode()),
    ProjectFile("/srv/web/override.yml", "compose", "override.yml", OVERRIDE.encode()),
    ProjectFile("/srv/web/.env", "env", ".env", b"# logs beside the data\nLOGS=/srv/web/logs\n"),
    ProjectFile(
        "/srv/common/base.yml",
        "extends",
        "",
        COMMON.encode(),
        "/srv/web/docker-compose.yml",
    ),
    ProjectFile("/srv/web/app.env", "env_file", "app.env", b"A=1\n", "/srv/web/docker-compose.yml"),
    ProjectFile(
        "/etc/web/token", "secret", "", b"\xff\x00s3cret", "/srv/web/docker-compose.yml", mode=0o600
    ),
)
PROJECT = SourceProject(
    project_dir="/srv/web",
    compose_files=("/srv/web/docker-compose.yml", "/srv/web/override.yml"),
    env_files=("/srv/web/.env",),
    profiles=("debug",),
    running_services=("web", "debug"),
    discovered_from="labels",
    files=FILES,
)
DATASETS = plan_datasets({"tank/web": "/srv/web"}, SPEC, {"tank/web": 100})


def plan_of(project: SourceProject = PROJECT, spec: MigrationSpec = SPEC) -> Plan:
    return build_plan(spec, "web", "", "", False, DATASETS, project=project)


def test_every_file_lands_in_its_place_inside_the_data_or_carried_as_a_file() -> None:
    plan = plan_of()
    landing = {(f.kind, f.source_path): (f.target_path, f.inside_data) for f in plan.carried_files}
    assert landing == {
        ("compose", "/srv/web/docker-compose.yml"): ("/mnt/stacks/web/docker-compose.yml", True),
        ("compose", "/srv/web/override.yml"): ("/mnt/stacks/web/override.yml", True),
        ("env", "/srv/web/.env"): ("/mnt/stacks/web/.env", True),
        ("extends", "/srv/common/base.yml"): ("/srv/common/base.yml", False),
        ("env_file", "/srv/web/app.env"): ("/mnt/stacks/web/app.env", True),
        ("secret", "/etc/web/token"): ("/etc/web/token", False),
    }
    assert plan.target_compose_dir == "/mnt/stacks/web"
    assert plan.compose_files == (
        "/mnt/stacks/web/docker-compose.yml",
        "/mnt/stacks/web/override.yml",
    )
    assert plan.env_files == ()  # the .env of the target compose dir, compose's default


def test_each_compose_file_is_translated_with_its_comments_and_the_env_follows() -> None:
    plan = plan_of()
    assert plan.compose_text.startswith("# the base file: comments stay\n")
    # the project moves, ../common/base.yml stays where it is: the path follows it
    assert "file: /srv/common/base.yml  # a service of another directory" in plan.compose_text
    assert plan.env_text == "# logs beside the data\nLOGS=/mnt/stacks/web/logs\n"
    assert "LOGS=/mnt/stacks/web/logs" in plan.env_diff
    diffs = {f.source_path: f.diff for f in plan.carried_files}
    assert "+      file: /srv/common/base.yml" in diffs["/srv/web/docker-compose.yml"]
    assert diffs["/srv/web/override.yml"] == ""  # ${LOGS} stays; .env carries the new value
    assert diffs["/etc/web/token"] == ""


def test_the_deploy_runs_the_same_files_profiles_and_only_what_ran() -> None:
    plan = plan_of()
    request = deploy_request(plan, SPEC)
    assert request.compose_dir == "/mnt/stacks/web"
    assert request.compose_filename == "docker-compose.yml"
    assert request.compose_files == plan.compose_files
    assert (request.profiles, request.services) == (("debug",), ("web", "debug"))
    assert request.write_env and request.env_text == plan.env_text
    written = {f.path: f for f in request.files}
    # every other file, at its target path; the first file and the .env go as compose_text/env
    assert sorted(written) == [
        "/etc/web/token",
        "/mnt/stacks/web/app.env",
        "/mnt/stacks/web/override.yml",
        "/srv/common/base.yml",
    ]
    token = written["/etc/web/token"]
    assert (token.content, token.mode, token.kind) == (b"\xff\x00s3cret", 0o600, "secret")
    assert written["/srv/common/base.yml"].content == COMMON.encode()
    assert (
        written["/mnt/stacks/web/override.yml"]
        .content.decode()
        .endswith("MODE: override  # added by the override\n    volumes:\n      - ${LOGS}:/logs\n")
    )


def test_an_explicit_env_file_goes_along_as_an_env_file_of_the_target() -> None:
    prod_env = ProjectFile("/srv/web/prod.env", "env", "prod.env", b"LOGS=/srv/web/logs\n")
    project = dataclasses.replace(
        PROJECT,
        env_files=("/srv/web/prod.env",),
        files=tuple(f for f in FILES if f.kind != "env") + (prod_env,),
    )
    plan = plan_of(project)
    assert plan.env_files == ("/mnt/stacks/web/prod.env",)
    assert not plan.env_exists  # no .env was read: none is written
    written = {f.path: f.content for f in deploy_request(plan, SPEC).files}
    assert written["/mnt/stacks/web/prod.env"] == b"LOGS=/mnt/stacks/web/logs\n"


def test_a_file_with_no_place_of_its_own_is_refused_by_name() -> None:
    # --map sends /srv/common onto the project's target directory, where the project's own
    # base.yml (the override, here) lands too
    override = dataclasses.replace(FILES[1], path="/srv/web/base.yml", relative="base.yml")
    project = dataclasses.replace(
        PROJECT,
        compose_files=("/srv/web/docker-compose.yml", "/srv/web/base.yml"),
        files=(FILES[0], override, *FILES[2:]),
    )
    maps = (PathMapping("/srv/common", "/mnt/stacks/web"),)
    spec = dataclasses.replace(SPEC, options=dataclasses.replace(SPEC.options, path_maps=maps))
    plan = plan_of(project, spec)
    assert plan.carry_problems == (
        "/srv/web/base.yml and /srv/common/base.yml would both be written to "
        "/mnt/stacks/web/base.yml",
    )
    facts = Facts(
        target_dataset="dst/stacks",
        source=AgentPing("a:1", False),
        target=AgentPing("b:2", False),
        plan=plan,
    )
    check = {c.name: c for c in evaluate(facts).checks}["project_files_carried"]
    assert (check.ok, check.detail) == (False, plan.carry_problems[0])


def test_a_first_file_outside_the_project_directory_is_refused_by_name() -> None:
    alone = ProjectFile(SPEC.compose_path, "compose", "web/docker-compose.yml", b"services: {}\n")
    project = SourceProject("/srv", (SPEC.compose_path,), files=(alone,))
    (problem,) = plan_of(project).carry_problems
    assert problem.startswith(
        "/srv/web/docker-compose.yml: the first compose file is outside the project directory /srv"
    )


def test_the_plan_says_how_many_files_are_carried_as_files() -> None:
    facts = Facts(
        target_dataset="dst/stacks",
        source=AgentPing("a:1", False),
        target=AgentPing("b:2", False),
        plan=plan_of(),
    )
    check = {c.name: c for c in evaluate(facts).checks}["project_files_carried"]
    assert check.ok
    assert check.detail == (
        "6 files, 4 inside the migrated data; carried as files: /srv/common/base.yml, "
        "/etc/web/token"
    )


def test_replan_from_the_stored_project_needs_no_agent() -> None:
    plan = plan_of()
    migration = Migration(
        id="m",
        spec=SPEC,
        project_name="web",
        datasets=list(DATASETS),
        source_project=PROJECT,
    )
    again = Planner(dialer=None).replan(migration)  # type: ignore[arg-type]
    assert again == plan
    assert migration.source_compose_path == SPEC.compose_path


def test_a_project_found_from_its_labels_needs_no_compose_path() -> None:
    spec = dataclasses.replace(SPEC, compose_path="", project_name="web")
    check_spec(spec)
    assert spec.stack == "project web"
    migration = Migration(id="m", spec=spec, source_project=PROJECT)
    assert migration.source_compose_path == "/srv/web/docker-compose.yml"
    with pytest.raises(InvalidArgument, match="unless project_name names a running project"):
        check_spec(dataclasses.replace(spec, project_name=""))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"compose_files": ("/srv/web/other.yml", "/srv/web/docker-compose.yml")}, "first file"),
        ({"compose_files": (SPEC.compose_path, "prod.yml")}, "compose_files"),
        ({"env_files": ("prod.env",)}, "env_files"),
        ({"compose_files": (SPEC.compose_path, SPEC.compose_path)}, "given twice"),
    ],
)
def test_bad_file_lists_are_refused_naming_the_field(changes: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidArgument, match=says):
        check_spec(dataclasses.replace(SPEC, **changes))  # type: ignore[arg-type]


STARTED = ("/srv/web/docker-compose.yml", "/srv/web/prod.yml")
STACK = StackInfo("web", "/srv/web", SPEC.compose_path, "", started_with=STARTED)


def files_check(**changes: object) -> tuple[bool, str]:
    facts = Facts(
        target_dataset="dst/stacks",
        source=AgentPing("a:1", False),
        target=AgentPing("b:2", False),
        stack=dataclasses.replace(STACK, **changes),  # type: ignore[arg-type]
    )
    check = {c.name: c for c in evaluate(facts).checks}["compose_files_match"]
    return check.ok, check.detail


def test_an_explicit_list_that_misses_a_labelled_file_fails_naming_it() -> None:
    ok, detail = files_check(compose_files=STARTED[:1], discovered_from="explicit")
    assert not ok
    assert "leaves out /srv/web/prod.yml" in detail


def test_an_explicit_list_that_differs_otherwise_is_used_with_a_warning() -> None:
    more = (*STARTED, "/srv/web/debug.yml")
    assert files_check(compose_files=more, discovered_from="explicit") == (
        True,
        "warning: the given -f /srv/web/docker-compose.yml, /srv/web/prod.yml, "
        "/srv/web/debug.yml is used, not -f /srv/web/docker-compose.yml, /srv/web/prod.yml "
        "that the containers' labels name (an explicit list takes precedence)",
    )
    assert files_check(compose_files=STARTED, discovered_from="labels") == (
        True,
        "read from the containers' labels: -f /srv/web/docker-compose.yml, /srv/web/prod.yml",
    )
