"""The one vocabulary and its one converter: every field survives a trip to the wire and back,
so a field added to a hostapi type or a message but forgotten in one direction fails here."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackferry import hostapi as h
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2

text = st.text(max_size=12)
ints = st.integers(min_value=0, max_value=2**40)
floats = st.floats(min_value=0, max_value=1e9, allow_nan=False)
small = st.integers(min_value=0, max_value=2**30)

containers = st.builds(h.ContainerInfo, text, text, text, text, text, small, small)
services = st.builds(
    h.ServiceInfo,
    text,
    text,
    st.lists(containers, max_size=3).map(tuple),
    st.lists(text, max_size=3).map(tuple),
)
images = st.builds(h.ImageInfo, text, st.booleans(), text, ints)
labels = st.dictionaries(text, text, max_size=3)
mounts = st.builds(
    h.MountInfo,
    text,
    text,
    text,
    st.booleans(),
    text,
    text,
    text,
    text,
    st.booleans(),
    text,
    text,
    text,
    text,
    labels,
    labels,
    st.booleans(),
    text,
    st.lists(text, max_size=2).map(tuple),
    text,
    ints,
    st.booleans(),
    text,
    st.booleans(),
)
project_files = st.builds(
    h.ProjectFile,
    text,
    text,
    text,
    st.binary(max_size=12),
    text,
    st.booleans(),
    small,
    small,
    small,
)
file_lists = st.lists(project_files, max_size=2).map(tuple)
text_lists = st.lists(text, max_size=2).map(tuple)
stacks = st.builds(
    h.StackInfo,
    text,
    text,
    text,
    text,
    text,
    st.booleans(),
    st.lists(services, max_size=2).map(tuple),
    st.lists(images, max_size=2).map(tuple),
    st.lists(mounts, max_size=2).map(tuple),
    st.lists(text, max_size=2).map(tuple),
    st.lists(text, max_size=2).map(tuple),
    st.lists(text, max_size=2).map(tuple),
    st.lists(text, max_size=2).map(tuple),
    text,
    st.booleans(),
    st.lists(text, max_size=2).map(tuple),
    text_lists,
    file_lists,
    text,
    text_lists,
)
pairs = st.lists(st.tuples(text, text), max_size=3).map(tuple)

ROUND_TRIPS: list[tuple[str, Any, Callable[[Any], Any], Callable[[Any], Any]]] = [
    (
        "agent_info",
        st.builds(
            h.AgentInfo,
            text,
            text,
            text,
            text,
            st.dictionaries(text, st.booleans(), max_size=3),
            text,
            text,
            text,
            text,
            st.lists(text, max_size=2).map(tuple),
            st.lists(text, max_size=2).map(tuple),
            text,
        ),
        convert.agent_info_to_pb,
        convert.agent_info_from_pb,
    ),
    (
        "snapshot",
        st.builds(h.SnapshotInfo, text, text, text, ints, ints, ints),
        convert.snapshot_to_pb,
        convert.snapshot_from_pb,
    ),
    (
        "dataset",
        st.builds(
            h.DatasetInfo, text, st.booleans(), text, st.booleans(), ints, ints, ints, text, text
        ),
        convert.dataset_to_pb,
        convert.dataset_from_pb,
    ),
    (
        "estimate",
        st.builds(h.SendEstimate, ints, text),
        convert.estimate_to_pb,
        convert.estimate_from_pb,
    ),
    ("container", containers, convert.container_to_pb, convert.container_from_pb),
    ("service", services, convert.service_to_pb, convert.service_from_pb),
    ("image", images, convert.image_to_pb, convert.image_from_pb),
    ("mount", mounts, convert.mount_to_pb, convert.mount_from_pb),
    ("project_file", project_files, convert.project_file_to_pb, convert.project_file_from_pb),
    ("stack", stacks, convert.stack_to_pb, convert.stack_from_pb),
    (
        "stack_status",
        st.builds(
            h.StackStatus,
            text,
            st.lists(services, max_size=2).map(tuple),
            floats,
            st.lists(
                st.builds(
                    h.StopOutcome, text, floats, floats, st.lists(text, max_size=2).map(tuple)
                ),
                max_size=2,
            ).map(tuple),
        ),
        convert.stack_status_to_pb,
        convert.stack_status_from_pb,
    ),
    (
        "deploy_request",
        st.builds(
            h.DeployRequest,
            text,
            text,
            text,
            text,
            st.booleans(),
            pairs,
            small,
            text,
            text,
            text_lists,
            text_lists,
            text_lists,
            text_lists,
            file_lists,
            st.booleans(),
        ),
        convert.deploy_request_to_pb,
        convert.deploy_request_from_pb,
    ),
    (
        "deploy_checks",
        st.builds(
            h.DeployChecks,
            st.lists(st.builds(h.DeployCheck, text, st.booleans(), text), max_size=3).map(tuple),
            st.lists(text, max_size=2).map(tuple),
        ),
        convert.deploy_checks_to_pb,
        convert.deploy_checks_from_pb,
    ),
    (
        "deploy_result",
        st.builds(
            h.DeployResult,
            st.booleans(),
            st.lists(services, max_size=2).map(tuple),
            text,
            text,
            st.dictionaries(text, text, max_size=2),
            st.floats(0, 1e6),
            st.floats(0, 1e6),
            st.floats(0, 1e6),
        ),
        convert.deploy_result_to_pb,
        convert.deploy_result_from_pb,
    ),
    (
        "claim",
        st.builds(
            h.Claim,
            text,
            text,
            text,
            st.lists(text, max_size=2).map(tuple),
            st.lists(text, max_size=2).map(tuple),
            st.lists(text, max_size=2).map(tuple),
            small,
        ),
        convert.claim_to_pb,
        convert.claim_from_pb,
    ),
    (
        "claim_grant",
        st.builds(h.ClaimGrant, text, ints),
        convert.claim_grant_to_pb,
        convert.claim_grant_from_pb,
    ),
    (
        "release_result",
        st.builds(h.ReleaseResult, st.booleans()),
        convert.release_result_to_pb,
        convert.release_result_from_pb,
    ),
    (
        "discard_result",
        st.builds(
            h.DiscardResult,
            st.lists(text, max_size=2).map(tuple),
            st.lists(text, max_size=2).map(tuple),
        ),
        convert.discard_result_to_pb,
        convert.discard_result_from_pb,
    ),
    (
        "file_tree",
        st.builds(h.FileTree, text, text),
        convert.file_tree_to_pb,
        convert.file_tree_from_pb,
    ),
    (
        "file_manifest",
        st.builds(h.FileManifest, text, ints, ints),
        convert.file_manifest_to_pb,
        convert.file_manifest_from_pb,
    ),
    (
        "volume_spec",
        st.builds(
            h.VolumeSpec,
            text,
            text,
            st.dictionaries(text, text, max_size=2),
            st.dictionaries(text, text, max_size=2),
        ),
        convert.volume_spec_to_pb,
        convert.volume_spec_from_pb,
    ),
    (
        "volume",
        st.builds(
            h.VolumeInfo,
            text,
            st.booleans(),
            text,
            st.dictionaries(text, text, max_size=2),
            st.dictionaries(text, text, max_size=2),
            text,
            st.booleans(),
            ints,
            st.lists(st.builds(h.VolumeUser, text, text, text, st.booleans()), max_size=2).map(
                tuple
            ),
        ),
        convert.volume_to_pb,
        convert.volume_from_pb,
    ),
    (
        "progress",
        st.builds(h.TransferProgress, ints, ints, floats, floats, floats),
        convert.progress_to_pb,
        convert.progress_from_pb,
    ),
    (
        "result",
        st.builds(h.TransferResult, ints, text, text, text, floats),
        convert.result_to_pb,
        convert.result_from_pb,
    ),
]


@pytest.mark.parametrize(
    ("name", "values", "to_pb", "from_pb"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS]
)
def test_every_field_survives_the_wire(
    name: str, values: Any, to_pb: Callable[[Any], Any], from_pb: Callable[[Any], Any]
) -> None:
    @given(values)
    def round_trip(value: Any) -> None:
        wire = type(to_pb(value)).FromString(to_pb(value).SerializeToString())
        assert from_pb(wire) == value

    round_trip()


@pytest.mark.parametrize(
    ("name", "values", "to_pb", "from_pb"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS]
)
def test_the_message_and_the_value_have_the_same_fields(
    name: str, values: Any, to_pb: Callable[[Any], Any], from_pb: Callable[[Any], Any]
) -> None:
    """Same field names on both sides: nothing the wire carries is dropped on the way in, and
    nothing the domain knows is missing from the wire."""
    message = typing.get_type_hints(to_pb)["return"]
    value = typing.get_type_hints(from_pb)["return"]
    assert {f.name for f in message.DESCRIPTOR.fields} == {
        f.name for f in dataclasses.fields(value)
    }


def test_the_api_version_is_the_generated_package() -> None:
    assert agent_pb2.DESCRIPTOR.package == h.AGENT_API_VERSION


def test_typed_container_states_decide_ready_and_failed() -> None:
    assert h.ContainerInfo("a", state="running").ready
    assert h.ContainerInfo("a", state="running", health="healthy").ready
    assert not h.ContainerInfo("a", state="running", health="starting").ready
    assert h.ContainerInfo("a", state="exited", exit_code=1).failed
    assert h.ContainerInfo("a", state="running", restart_count=1).failed
    assert h.ContainerInfo("a", state="running", health="unhealthy").failed
    assert not h.ContainerInfo("a", state="running").failed
