"""`--compress`: the CLI flag becomes MigrationOptions.compression, the controller keeps it
through the API and the store, and refuses a codec it does not know by name."""

from __future__ import annotations

import dataclasses

import pytest
from test_cli_args import FLAGS

from stackferry.cli import main as cli
from stackferry.controller.api import convert
from stackferry.controller.domain.plan import check_spec
from stackferry.controller.errors import InvalidArgument
from stackferry.controller.store.rows import spec_from_json, spec_to_json


@pytest.mark.parametrize("codec", ["none", "lz4", "zstd", "auto"])
def test_the_flag_reaches_the_stored_spec(codec: str) -> None:
    args = cli.build_parser().parse_args(["migrate", *FLAGS, "--compress", codec])
    spec = convert.spec_from_pb(cli.spec_from_args(args))
    assert spec.options.compression == codec
    check_spec(spec)
    assert spec_from_json(spec_to_json(spec)) == spec
    assert convert.options_to_pb(spec.options).compression == codec


def test_no_flag_means_uncompressed() -> None:
    args = cli.build_parser().parse_args(["migrate", *FLAGS])
    assert convert.spec_from_pb(cli.spec_from_args(args)).options.compression == "none"


def test_an_unknown_codec_is_refused_by_the_cli_and_the_controller() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["migrate", *FLAGS, "--compress", "gzip"])
    spec = convert.spec_from_pb(
        cli.spec_from_args(cli.build_parser().parse_args(["migrate", *FLAGS]))
    )
    bad = dataclasses.replace(spec, options=dataclasses.replace(spec.options, compression="gzip"))
    with pytest.raises(InvalidArgument, match="options.compression: 'gzip'"):
        check_spec(bad)
