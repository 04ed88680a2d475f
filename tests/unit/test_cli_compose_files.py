"""The CLI's compose file flags: `--compose` repeated in order as `-f` is, none at all with
`--project` (the running project's labels name the files), `--env-file` repeated; a relative
path is a usage error before anything is contacted."""

from __future__ import annotations

import re

import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import main as cli
from stackferry.cli.output import stack_of

AGENTS = ["--from", "hosta:7701", "--to", "hostb:7701", "--target-base", "/srv/migrated"]


def spec_of(*flags: str) -> pb.MigrationSpec:
    return cli.spec_from_args(cli.build_parser().parse_args(["migrate", *AGENTS, *flags]))


def test_repeated_compose_files_keep_their_order_the_first_is_the_compose_path() -> None:
    spec = spec_of(
        *("--compose", "/srv/shop/base.yml", "--compose", "/srv/shop/prod.yml"),
        *("--env-file", "/srv/shop/prod.env", "--env-file", "/srv/shop/local.env"),
    )
    assert spec.compose_path == "/srv/shop/base.yml"
    assert list(spec.compose_files) == ["/srv/shop/base.yml", "/srv/shop/prod.yml"]
    assert list(spec.env_files) == ["/srv/shop/prod.env", "/srv/shop/local.env"]
    assert spec.name == "shop"
    assert stack_of(spec) == "/srv/shop/base.yml -f /srv/shop/prod.yml"


def test_one_compose_file_is_the_compose_path_alone() -> None:
    spec = spec_of("--compose", "/srv/shop/docker-compose.yml")
    assert (spec.compose_path, list(spec.compose_files)) == ("/srv/shop/docker-compose.yml", [])


def test_a_project_needs_no_compose_file() -> None:
    spec = spec_of("--project", "shop")
    assert (spec.compose_path, list(spec.compose_files), spec.project_name) == ("", [], "shop")
    assert spec.name == "shop"
    assert stack_of(spec) == "project shop"
    assert spec_of("--project-name", "shop").project_name == "shop"  # the older spelling


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ((), "--compose (or --project)"),
        (("--compose", "/srv/shop/base.yml", "--compose", "prod.yml"), "--compose must be"),
        (("--project", "shop", "--env-file", "prod.env"), "--env-file must be an absolute"),
    ],
)
def test_missing_or_relative_files_are_usage_errors(flags: tuple[str, ...], says: str) -> None:
    with pytest.raises(cli.UsageError, match=re.escape(says)):
        spec_of(*flags)
