"""RPCs FileSync, FileManifest, VolumeInspect, VolumeCreate: request -> agent/files -> reply.

FileSync reads memoryview chunks and yields pre-framed ones (wire.py; the server registers
its codecs, see server.py). The call's context is the service's Caller: its callbacks stop
the pass when the sender goes away.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from stackferry.agent.errors import Cancelled, InvalidArgument
from stackferry.agent.files.ports import FileEnd
from stackferry.agent.rpc import file_messages as messages
from stackferry.agent.rpc.status import maps_errors, maps_errors_stream
from stackferry.agent.rpc.wire import chunk_prefix
from stackferry.agent.service import AgentService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2


class FileRpc:
    service: AgentService

    @maps_errors_stream
    def FileSync(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        first = next(request_iterator, None)
        if not isinstance(first, agent_pb2.FileSyncMessage) or not first.HasField("header"):
            raise InvalidArgument("the first message of FileSync must be the header")
        if first.header.kind != agent_pb2.STREAM_FILES:
            raise InvalidArgument("FileSync carries STREAM_FILES only")
        header = messages.file_header_from_pb(first.header)
        for item in self.service.files.receive(header, _incoming(request_iterator), context):
            if isinstance(item, FileEnd):
                yield agent_pb2.FileSyncMessage(end=messages.end_to_pb(item))
            else:
                yield chunk_prefix(len(item)) + item

    @maps_errors
    def FileManifest(
        self, request: agent_pb2.FileManifestRequest, context: grpc.ServicerContext
    ) -> agent_pb2.FileManifestReply:
        tree = convert.file_tree_from_pb(request.tree)
        return convert.file_manifest_to_pb(self.service.files.manifest(tree))

    @maps_errors
    def VolumeInspect(
        self, request: agent_pb2.VolumeInspectRequest, context: grpc.ServicerContext
    ) -> agent_pb2.VolumeInfo:
        return convert.volume_to_pb(self.service.files.inspect_volume(request.name))

    @maps_errors
    def VolumeCreate(
        self, request: agent_pb2.VolumeCreateRequest, context: grpc.ServicerContext
    ) -> agent_pb2.VolumeInfo:
        spec = convert.volume_spec_from_pb(request.spec)
        created = self.service.files.create_volume(
            spec, request.allow_overwrite, request.migration_id
        )
        return convert.volume_to_pb(created)


def _incoming(requests: Iterator[Any]) -> Iterator[memoryview | bytes | FileEnd]:
    """The messages after the header: chunks (memoryviews from wire.py's fast path, or
    protobuf chunks) and possibly the sender's end."""
    try:
        for message in requests:
            if isinstance(message, memoryview):
                yield message
                continue
            field = message.WhichOneof("message")
            if field == "chunk":
                yield message.chunk
            elif field == "end":
                yield messages.end_from_pb(message.end)
                return
            else:
                raise InvalidArgument(f"unexpected {field or 'empty'} message in FileSync")
    except grpc.RpcError:
        raise Cancelled("the sender went away before the end of the pass") from None
