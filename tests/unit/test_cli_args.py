"""The `stackferry` command line: flags become the API's MigrationSpec; bad input is a usage
error (exit 2) before anything is contacted."""

from __future__ import annotations

import argparse

import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import main as cli

FLAGS = [
    *("--from", "hosta:7701", "--to", "hostb:7701", "--compose", "/srv/shop/docker-compose.yml"),
    *("--target-dataset", "tank/migrated", "--target-base", "/srv/migrated"),
    "--insecure",
]


def test_migrate_flags_become_the_spec() -> None:
    args = cli.build_parser().parse_args(
        [
            "migrate",
            *FLAGS,
            *("--map", "/data=/srv/data", "--map", "/logs=/var/log/shop"),
            *("--keep-snapshots", "--verify-timeout", "30", "--bwlimit", "20M"),
        ]
    )
    spec = cli.spec_from_args(args)
    assert spec.name == "shop"
    assert spec.source_agent == "hosta:7701"
    assert spec.transfer_method == "zfs_send"
    assert spec.options.keep_snapshots
    assert spec.options.verify_timeout_seconds == 30
    assert spec.options.bandwidth_limit_bytes_per_second == 20 << 20
    assert [(m.source, m.target) for m in spec.options.path_maps] == [
        ("/data", "/srv/data"),
        ("/logs", "/var/log/shop"),
    ]


def test_keep_target_on_failure_is_off_unless_asked() -> None:
    parse = cli.build_parser().parse_args
    assert not cli.spec_from_args(parse(["migrate", *FLAGS])).options.keep_target_on_failure
    kept = cli.spec_from_args(parse(["migrate", *FLAGS, "--keep-target-on-failure"]))
    assert kept.options.keep_target_on_failure


def test_excludes_and_allow_overwrite_reach_the_options_and_no_dataset_is_needed() -> None:
    parse = cli.build_parser().parse_args
    files_only = [f for f in FLAGS if f not in ("--target-dataset", "tank/migrated")]
    spec = cli.spec_from_args(
        parse(["migrate", *files_only, "--exclude", "cache", "--exclude", "/srv/tmp",
               "--allow-overwrite"])
    )  # fmt: skip
    assert list(spec.options.excludes) == ["cache", "/srv/tmp"]
    assert spec.options.allow_overwrite and spec.target_dataset == ""
    plain = cli.spec_from_args(parse(["migrate", *FLAGS]))
    assert list(plain.options.excludes) == [] and not plain.options.allow_overwrite


@pytest.mark.parametrize(
    ("text", "rate"),
    [("0", 0), ("512", 512), ("500K", 500 << 10), ("1g", 1 << 30), ("3MiB/s", 3 << 20)],
)
def test_rates(text: str, rate: int) -> None:
    assert cli.parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "-1M", "1.5M", "10X"])
def test_bad_rates(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_rate(text)


@pytest.mark.parametrize("text", ["/a", "a=/b", "/a=b", "=/b"])
def test_bad_mappings(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_mapping(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate", "--from", "a:1"],
        ["migrate", *FLAGS, "--bwlimit", "fast"],
        ["migrate", *FLAGS, "--map", "relative=/x"],
        ["list", "--state", "sleeping"],
        ["status"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2


def test_detach_needs_a_controller(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", *FLAGS, "--detach"]) == 2
    assert "--controller" in capsys.readouterr().err


def test_plan_without_id_or_flags_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--insecure", "--controller", "127.0.0.1:1"]) == 2
    assert "--from" in capsys.readouterr().err


def test_every_state_can_be_listed() -> None:
    assert len(cli.STATE_NAMES) == len(pb.MigrationState.values()) - 1
