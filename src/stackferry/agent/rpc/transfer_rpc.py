"""RPCs PrepareReceive, SendStream, ReceiveStream: thin adapters over agent/transfer_ends.py
(checks, tickets, storage), agent/transfer.py (the pump) and agent/rpc/peer.py (the push).

SendStream yields pre-framed chunk views and ReceiveStream reads memoryview chunks: the
server registers these two methods with the codecs of agent/rpc/wire.py (see server.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from stackferry.agent import transfer_ends
from stackferry.agent.errors import AgentError, Cancelled, InvalidArgument
from stackferry.agent.rpc import peer
from stackferry.agent.rpc.status import maps_errors, maps_errors_stream
from stackferry.agent.rpc.wire import chunk_prefix
from stackferry.agent.service import AgentService
from stackferry.agent.tickets import TransferSpec
from stackferry.agent.transfer import Meter, Progress, SinkPump, SourcePump, Summary
from stackferry.api.agent.v1 import agent_pb2
from stackferry.common import metrics

KIND_NAMES: dict[int, str] = {agent_pb2.STREAM_ZFS: "zfs", agent_pb2.STREAM_IMAGES: "images"}
PROGRESS_INTERVAL = 1.0


def _kind(value: int) -> str:
    if value not in KIND_NAMES:
        raise InvalidArgument("stream kind must be STREAM_ZFS or STREAM_IMAGES")
    return KIND_NAMES[value]


def _progress_event(p: Progress) -> agent_pb2.SendEvent:
    return agent_pb2.SendEvent(
        progress=agent_pb2.TransferProgress(
            bytes_done=p.bytes_done,
            bytes_expected=p.bytes_expected,
            rate_bytes_per_second=p.rate_bytes_per_second,
            eta_seconds=p.eta_seconds,
            elapsed_seconds=p.elapsed_seconds,
        )
    )


def _result(summary: Summary) -> agent_pb2.TransferResult:
    return agent_pb2.TransferResult(
        bytes=summary.bytes,
        checksum=summary.checksum,
        received_snapshot=summary.received.snapshot,
        received_guid=summary.received.guid,
        seconds=summary.seconds,
    )


class TransferRpc:
    service: AgentService

    @maps_errors
    def PrepareReceive(
        self, request: agent_pb2.PrepareReceiveRequest, context: grpc.ServicerContext
    ) -> agent_pb2.PrepareReceiveReply:
        spec = TransferSpec(
            kind=_kind(request.kind),
            target=request.target_dataset,
            base_guid=request.base_snapshot_guid,
            allow_overwrite=request.allow_overwrite,
            images=tuple(request.images),
            resume=request.resume,
        )
        ticket = transfer_ends.prepare_receive(self.service, spec, request.ttl_seconds)
        return agent_pb2.PrepareReceiveReply(
            ticket=ticket.ticket, expires_unix=int(ticket.expires_at)
        )

    @maps_errors_stream
    def SendStream(
        self, request: agent_pb2.SendRequest, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        with metrics.active_stream("send"):
            yield from self._send(request, context)

    def _send(self, request: agent_pb2.SendRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        kind = _kind(request.kind)
        limit = request.bandwidth_limit_bytes_per_second
        if limit < 0:
            raise InvalidArgument("bandwidth_limit_bytes_per_second must not be negative")
        channel = peer.dial(self.service.config, request.peer) if request.peer else None
        try:  # opening the source validates the names before any estimate runs
            source = transfer_ends.open_source(
                self.service,
                kind,
                request.snapshot,
                request.base_snapshot,
                request.images,
                request.resume_token,
            )
        except BaseException:
            if channel is not None:
                channel.close()
            raise
        expected = transfer_ends.expected_bytes(
            self.service, kind, request.snapshot, request.base_snapshot, request.resume_token
        )
        meter = Meter(expected, limit or self.service.config.bandwidth_limit_bytes_per_second)
        pump = SourcePump(source, meter, frame=chunk_prefix)
        context.add_callback(pump.close)
        sent_bytes = metrics.BYTES_SENT.labels(kind)
        if channel is None:
            yield from pump.chunks()
            summary = pump.summary()
            sent_bytes.inc(summary.bytes)
            yield agent_pb2.SendEvent(done=_result(summary))
            return
        header = agent_pb2.ReceiveHeader()
        header.CopyFrom(request.header)
        header.kind = request.kind
        header.bytes_expected = expected
        header.source_snapshot = request.snapshot
        pushing = peer.Push(channel, request.peer, header, pump)
        context.add_callback(pushing.cancel)
        counted = 0
        while not pushing.wait(PROGRESS_INTERVAL):
            progress = meter.progress()
            sent_bytes.inc(progress.bytes_done - counted)
            counted = progress.bytes_done
            yield _progress_event(progress)
        if not context.is_active():
            raise Cancelled("the caller cancelled the transfer")
        sent, received = pushing.result()
        progress = meter.progress()
        sent_bytes.inc(progress.bytes_done - counted)
        yield _progress_event(progress)
        received.seconds = sent.seconds
        yield agent_pb2.SendEvent(done=received)

    @maps_errors
    def ReceiveStream(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> agent_pb2.ReceiveReply:
        first = next(request_iterator, None)
        if not isinstance(first, agent_pb2.ReceiveMessage) or not first.HasField("header"):
            raise InvalidArgument("the first message of ReceiveStream must be the header")
        header = first.header
        presented = TransferSpec(
            kind=_kind(header.kind),
            target=header.target_dataset,
            base_guid=header.base_snapshot_guid,
            allow_overwrite=header.allow_overwrite,
            resume=header.resume,
        )
        sink = transfer_ends.open_sink(self.service, header.ticket, presented, header.resumable)
        pump = SinkPump(sink, Meter(header.bytes_expected))
        context.add_callback(pump.abort)  # any end but a commit: nothing partial is left
        try:
            with metrics.active_stream("receive"):
                summary = self._receive(request_iterator, pump, context)
            metrics.BYTES_RECEIVED.labels(presented.kind).inc(summary.bytes)
        except grpc.RpcError:
            pump.abort()
            raise Cancelled("the sender went away before the end of the stream") from None
        except BaseException:
            pump.abort()
            raise
        return agent_pb2.ReceiveReply(result=_result(summary))

    @staticmethod
    def _receive(messages: Iterator[Any], pump: SinkPump, context: grpc.ServicerContext) -> Summary:
        for message in messages:
            if isinstance(message, memoryview):
                pump.feed(message)
                continue
            field = message.WhichOneof("message")
            if field == "chunk":
                pump.feed(message.chunk)
            elif field == "trailer":
                trailer = message.trailer
                if trailer.error:
                    raise AgentError(f"the sender failed, nothing was received: {trailer.error}")
                return pump.commit(trailer.bytes, trailer.checksum)
            else:
                raise InvalidArgument(f"unexpected {field or 'empty'} message in the stream")
        if not context.is_active():
            raise Cancelled("the sender cancelled the stream: nothing was received")
        raise InvalidArgument("the stream ended without a trailer: nothing was received")
