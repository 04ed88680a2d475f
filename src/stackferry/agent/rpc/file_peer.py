"""The sending agent's stream to the receiving agent's FileSync (agent/files/ports.py), over
gRPC: dialled with this agent's own TLS identity (mTLS), as zfs pushes are (peer.py).

What rsync sends is queued (at most DEPTH messages: gRPC flow control reaches rsync through
the blocked queue) and travels as pre-framed chunks (wire.py); the header and the end are
protobuf messages.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

import grpc

from stackferry.agent.config import AgentConfig
from stackferry.agent.errors import Cancelled
from stackferry.agent.files.ports import FileEnd, FileHeader
from stackferry.agent.rpc.connections import Connections
from stackferry.agent.rpc.file_messages import end_from_pb, end_to_pb, file_header_to_pb
from stackferry.agent.rpc.peer import dial, error_from_rpc
from stackferry.agent.rpc.wire import chunk_prefix, decode_file_sync_message, encode_message
from stackferry.api.agent.v1 import agent_pb2

FILE_SYNC_METHOD = f"/{agent_pb2.DESCRIPTOR.services_by_name['Agent'].full_name}/FileSync"
DEPTH = 16
_CLOSE = object()


class GrpcFilePeerDialer:
    """File passes to peer agents, on the connections the zfs pushes share (connections.py)."""

    def __init__(self, config: AgentConfig, connections: Connections | None = None) -> None:
        self.config = config
        self.connections = connections or Connections(functools.partial(dial, config))

    def open_sync(self, address: str, header: FileHeader) -> GrpcFileSyncCall:
        channel = self.connections.take(address)
        try:
            return GrpcFileSyncCall(channel, address, header, self.connections)
        except BaseException:
            self.connections.give_back(address, channel)
            raise


class GrpcFileSyncCall:
    def __init__(
        self, channel: grpc.Channel, address: str, header: FileHeader, connections: Connections
    ) -> None:
        self.address = address
        self._channel = channel
        self._connections = connections
        self._given_back = False
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=DEPTH)
        self._closed = False
        self._ended = threading.Event()  # the call is over, whichever way
        method = channel.stream_stream(
            FILE_SYNC_METHOD,
            request_serializer=encode_message,
            response_deserializer=decode_file_sync_message,
        )
        self._call = method(self._requests(file_header_to_pb(header)))

    def _requests(self, header: agent_pb2.ReceiveHeader) -> Iterator[Any]:
        yield agent_pb2.FileSyncMessage(header=header)
        while not self._ended.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _CLOSE:
                return
            yield item

    def send(self, chunk: memoryview | bytes) -> None:
        if self._ended.is_set():
            raise Cancelled(f"the stream to {self.address} has ended")
        self._put(b"".join((chunk_prefix(len(chunk)), chunk)))  # framed, in one copy

    def _put(self, item: Any) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._ended.is_set():
                    raise Cancelled(f"the stream to {self.address} has ended") from None

    def close(self, end: FileEnd | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if end is not None:
                self._put(agent_pb2.FileSyncMessage(end=end_to_pb(end)))
            self._put(_CLOSE)
        except Cancelled:
            pass  # the call is over: nothing more to say

    def responses(self) -> Generator[memoryview | bytes | FileEnd, None, None]:
        try:
            for message in self._call:
                if isinstance(message, memoryview):
                    yield message
                elif message.WhichOneof("message") == "end":
                    yield end_from_pb(message.end)
                elif message.WhichOneof("message") == "chunk":
                    yield message.chunk
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise Cancelled(f"the file pass to {self.address} was cancelled") from None
            raise error_from_rpc(exc, self.address) from None
        finally:
            self._ended.set()
            if not self._given_back:  # the call is over: its connection serves the next one
                self._given_back = True
                self._connections.give_back(self.address, self._channel)

    def cancel(self) -> None:
        self._ended.set()
        self._call.cancel()
        self._closed = True
