"""The transfer messages between agents <-> the agent's stream values (agent/streams.py,
agent/tickets.py). Host facts go through stackferry/api/agent/convert.py; these are the
agent's own protocol: the ticket a receive presents, the stream header and trailer.
"""

from __future__ import annotations

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.streams import SendRequest, StreamHeader, StreamTrailer
from stackferry.agent.tickets import TransferSpec
from stackferry.api.agent.v1 import agent_pb2

KIND_VALUES: dict[str, agent_pb2.StreamKind] = {
    "zfs": agent_pb2.STREAM_ZFS,
    "images": agent_pb2.STREAM_IMAGES,
}
KIND_NAMES: dict[int, str] = {value: name for name, value in KIND_VALUES.items()}


def kind_from_pb(value: int) -> str:
    if value not in KIND_NAMES:
        raise InvalidArgument("stream kind must be STREAM_ZFS or STREAM_IMAGES")
    return KIND_NAMES[value]


def spec_from_pb(request: agent_pb2.PrepareReceiveRequest) -> TransferSpec:
    return TransferSpec(
        kind=kind_from_pb(request.kind),
        target=request.target_dataset,
        base_guid=request.base_snapshot_guid,
        allow_overwrite=request.allow_overwrite,
        images=tuple(request.images),
        resume=request.resume,
        migration_id=request.migration_id,
    )


def header_from_pb(header: agent_pb2.ReceiveHeader, kind: str) -> StreamHeader:
    """``kind`` is passed in: a SendRequest's own kind overrides that of its header."""
    spec = TransferSpec(
        kind=kind,
        target=header.target_dataset,
        base_guid=header.base_snapshot_guid,
        allow_overwrite=header.allow_overwrite,
        resume=header.resume,
    )
    return StreamHeader(
        ticket=header.ticket,
        spec=spec,
        resumable=header.resumable,
        bytes_expected=header.bytes_expected,
        source_snapshot=header.source_snapshot,
    )


def header_to_pb(header: StreamHeader) -> agent_pb2.ReceiveHeader:
    spec = header.spec
    return agent_pb2.ReceiveHeader(
        kind=KIND_VALUES[spec.kind],
        ticket=header.ticket,
        target_dataset=spec.target,
        base_snapshot_guid=spec.base_guid,
        allow_overwrite=spec.allow_overwrite,
        bytes_expected=header.bytes_expected,
        resumable=header.resumable,
        source_snapshot=header.source_snapshot,
        resume=spec.resume,
    )


def send_request_from_pb(request: agent_pb2.SendRequest) -> SendRequest:
    kind = kind_from_pb(request.kind)
    return SendRequest(
        kind=kind,
        header=header_from_pb(request.header, kind),
        snapshot=request.snapshot,
        base_snapshot=request.base_snapshot,
        images=tuple(request.images),
        resume_token=request.resume_token,
        bandwidth_limit=request.bandwidth_limit_bytes_per_second,
        peer=request.peer,
    )


def trailer_from_pb(trailer: agent_pb2.ReceiveTrailer) -> StreamTrailer:
    return StreamTrailer(trailer.bytes, trailer.checksum, trailer.error)
