"""The file mover's messages between agents <-> its values (agent/files/ports.py,
agent/files/service.py). Host facts (FileTree, volumes, manifests) go through
stackferry/api/agent/convert.py."""

from __future__ import annotations

from stackferry.agent.files.ports import FileEnd, FileHeader
from stackferry.agent.files.service import FileSend
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2


def file_header_from_pb(header: agent_pb2.ReceiveHeader) -> FileHeader:
    return FileHeader(
        ticket=header.ticket,
        target=convert.file_tree_from_pb(header.target_files),
        allow_overwrite=header.allow_overwrite,
        checksum=header.file_checksum,
    )


def file_header_to_pb(header: FileHeader) -> agent_pb2.ReceiveHeader:
    return agent_pb2.ReceiveHeader(
        kind=agent_pb2.STREAM_FILES,
        ticket=header.ticket,
        target_files=convert.file_tree_to_pb(header.target),
        allow_overwrite=header.allow_overwrite,
        file_checksum=header.checksum,
    )


def file_send_from_pb(request: agent_pb2.SendRequest) -> FileSend:
    return FileSend(
        source=convert.file_tree_from_pb(request.source_files),
        peer=request.peer,
        header=file_header_from_pb(request.header),
        bandwidth_limit=request.bandwidth_limit_bytes_per_second,
    )


def end_to_pb(end: FileEnd) -> agent_pb2.FileSyncEnd:
    return agent_pb2.FileSyncEnd(exit_code=end.exit_code, error=end.error)


def end_from_pb(end: agent_pb2.FileSyncEnd) -> FileEnd:
    return FileEnd(end.exit_code, end.error)
