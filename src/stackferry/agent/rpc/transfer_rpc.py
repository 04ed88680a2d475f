"""RPCs PrepareReceive, SendStream, ReceiveStream: request -> agent/service.py -> reply.

SendStream yields pre-framed chunk bytes and ReceiveStream reads memoryview chunks: the
server registers these two methods with the codecs of agent/rpc/wire.py (see server.py).
The call's context is the service's Caller (agent/ports.py): its callbacks stop the pumps
when the caller goes away.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

import grpc

from stackferry.agent.errors import Cancelled, InvalidArgument
from stackferry.agent.rpc import file_messages
from stackferry.agent.rpc import transfer_messages as messages
from stackferry.agent.rpc.status import maps_errors, maps_errors_stream
from stackferry.agent.rpc.wire import chunk_prefix
from stackferry.agent.service import AgentService, SendEvent
from stackferry.agent.streams import StreamTrailer
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2
from stackferry.hostapi import TransferProgress


class TransferRpc:
    service: AgentService

    @maps_errors
    def PrepareReceive(
        self, request: agent_pb2.PrepareReceiveRequest, context: grpc.ServicerContext
    ) -> agent_pb2.PrepareReceiveReply:
        if request.kind == agent_pb2.STREAM_FILES:
            target = convert.file_tree_from_pb(request.target_files)
            ticket = self.service.files.prepare_receive(
                target, request.allow_overwrite, request.migration_id, request.ttl_seconds
            )
        else:
            spec = messages.spec_from_pb(request)
            ticket = self.service.prepare_receive(spec, request.ttl_seconds)
        return agent_pb2.PrepareReceiveReply(
            ticket=ticket.ticket, expires_unix=int(ticket.expires_at)
        )

    @maps_errors_stream
    def SendStream(
        self, request: agent_pb2.SendRequest, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        sending: Generator[SendEvent, None, None]
        if request.kind == agent_pb2.STREAM_FILES:  # a file pass: progress, then the result
            sending = self.service.files.send(file_messages.file_send_from_pb(request), context)
        else:
            send = messages.send_request_from_pb(request)
            sending = self.service.send(send, context, frame=chunk_prefix)
        with contextlib.closing(sending) as events:
            for event in events:
                if isinstance(event, bytes):  # a chunk, framed as a SendEvent already
                    yield event
                elif isinstance(event, TransferProgress):
                    yield agent_pb2.SendEvent(progress=convert.progress_to_pb(event))
                else:
                    yield agent_pb2.SendEvent(done=convert.result_to_pb(event))

    @maps_errors
    def ReceiveStream(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> agent_pb2.ReceiveReply:
        first = next(request_iterator, None)
        if not isinstance(first, agent_pb2.ReceiveMessage) or not first.HasField("header"):
            raise InvalidArgument("the first message of ReceiveStream must be the header")
        header = messages.header_from_pb(first.header, messages.kind_from_pb(first.header.kind))
        result = self.service.receive(header, _stream(request_iterator), context)
        return agent_pb2.ReceiveReply(result=convert.result_to_pb(result))


def _stream(requests: Iterator[Any]) -> Iterator[memoryview | bytes | StreamTrailer]:
    """The messages after the header: chunks (memoryviews from the fast path of wire.py, or
    protobuf chunks) and the trailer."""
    try:
        for message in requests:
            if isinstance(message, memoryview):
                yield message
                continue
            field = message.WhichOneof("message")
            if field == "chunk":
                yield message.chunk
            elif field == "trailer":
                yield messages.trailer_from_pb(message.trailer)
            else:
                raise InvalidArgument(f"unexpected {field or 'empty'} message in the stream")
    except grpc.RpcError:
        raise Cancelled("the sender went away before the end of the stream") from None
