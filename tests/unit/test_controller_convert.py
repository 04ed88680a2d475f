"""controller/api/convert.py: what the Controller API carries of a migration's states, events
and spec, in both directions where there are two."""

from __future__ import annotations

import dataclasses

import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.controller.api import convert
from stackferry.controller.domain.model import Event, EventKind, MigrationState
from stackferry.controller.errors import InvalidArgument


@pytest.mark.parametrize("state", list(MigrationState), ids=lambda s: s.value)
def test_every_state_crosses_the_api_and_back(state: MigrationState) -> None:
    assert convert.state_from_pb(convert.state_to_pb(state)) == state


def test_an_event_carries_its_bytes_as_numbers() -> None:
    event = Event("m1", 2.5, EventKind.PROGRESS, MigrationState.BULK_SENDING, "bulk_send", "x")
    message = convert.event_to_pb(
        dataclasses.replace(event, bytes_done=3 << 40, bytes_expected=4 << 40)
    )
    assert (message.bytes_done, message.bytes_expected) == (3 << 40, 4 << 40)
    assert (message.kind, message.step, message.state) == ("progress", "bulk_send", pb.BULK_SENDING)


def spec(transfer_method: str) -> pb.MigrationSpec:
    return pb.MigrationSpec(
        name="app",
        compose_path="/srv/app/docker-compose.yml",
        source_agent="a:1",
        target_agent="b:2",
        target_dataset="tank/x",
        target_base="/srv/x",
        transfer_method=transfer_method,
    )


@pytest.mark.parametrize("method", ["", "zfs_send"])
def test_the_one_transfer_method_is_accepted_and_named_back(method: str) -> None:
    parsed = convert.spec_from_pb(spec(method))
    assert convert.spec_to_pb(parsed).transfer_method == "zfs_send"


def test_another_transfer_method_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="transfer_method: 'rsync'"):
        convert.spec_from_pb(spec("rsync"))
