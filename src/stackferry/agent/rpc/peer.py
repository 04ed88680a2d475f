"""The source agent's side of an agent-to-agent stream, over gRPC: dial the peer, push into
its ReceiveStream, report how it went (the ports of agent/ports.py).

The peer is dialled with this agent's own TLS identity (the same cert, key and CA as its
server: mTLS both ways), or in plaintext when this agent is configured insecure. Chunks
travel pre-framed (agent/rpc/wire.py); the header and trailer are protobuf messages. A
source that fails mid-stream sends a trailer with the error, so the receiver aborts
instead of committing a truncated stream.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from stackferry.agent import errors
from stackferry.agent.config import AgentConfig
from stackferry.agent.rpc.connections import Connections, settles_ready
from stackferry.agent.rpc.status import STATUS_OF
from stackferry.agent.rpc.transfer_messages import header_to_pb
from stackferry.agent.rpc.wire import encode_message
from stackferry.agent.streams import StreamHeader
from stackferry.agent.transfer import SourcePump
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2
from stackferry.common.grpc_options import channel_credentials, open_channel
from stackferry.hostapi import TransferResult

RECEIVE_METHOD = f"/{agent_pb2.DESCRIPTOR.services_by_name['Agent'].full_name}/ReceiveStream"
CONNECT_TIMEOUT = 10.0

_ERROR_OF = {code: cls for cls, code in STATUS_OF.items()}


def error_from_rpc(exc: grpc.RpcError, peer: str) -> errors.AgentError:
    """The peer's status as the domain error of the same code (UNAVAILABLE stays temporary)."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else "") or str(code)
    cls = _ERROR_OF.get(code, errors.AgentError)
    if cls is errors.CommandFailed:
        cls = errors.AgentError
    return cls(f"peer {peer}: {details}")


def dial(config: AgentConfig, address: str) -> grpc.Channel:
    """A connected channel to the peer agent. Unavailable as soon as the first connection
    attempt fails (peer down, TLS handshake refused) or after CONNECT_TIMEOUT."""
    if config.insecure:
        channel = open_channel(address)
    else:
        creds = channel_credentials(config.tls_ca, config.tls_cert, config.tls_key)
        channel = open_channel(address, creds)
    if not settles_ready(channel, CONNECT_TIMEOUT):
        channel.close()
        raise errors.Unavailable(
            f"peer agent {address} is unreachable (no connection, or the TLS handshake "
            "failed: check that both agents' certificates come from one CA)"
        )
    return channel


class GrpcPeerDialer:
    """Dials peer agents as this agent: its TLS identity (mTLS), or plaintext if insecure.
    A stream's connection is kept for the next stream to that peer (connections.py)."""

    def __init__(self, config: AgentConfig, connections: Connections | None = None) -> None:
        self.config = config
        self.connections = connections or Connections(functools.partial(dial, config))

    def dial(self, address: str) -> GrpcPeer:
        return GrpcPeer(self.connections.take(address), address, self.connections)


class GrpcPeer:
    """A connected peer agent (agent/ports.py's Peer)."""

    def __init__(self, channel: grpc.Channel, address: str, connections: Connections) -> None:
        self.address = address
        self._channel = channel
        self._connections = connections

    def push(self, header: StreamHeader, pump: SourcePump) -> Push:
        release = functools.partial(self._connections.give_back, self.address, self._channel)
        return Push(self._channel, self.address, header_to_pb(header), pump, release)

    def close(self) -> None:
        """No push was made after all: the connection goes back unused."""
        self._connections.give_back(self.address, self._channel)


class Push:
    """One running push (agent/ports.py's PeerPush): the stream is consumed by gRPC's own
    thread; ``wait`` polls it."""

    def __init__(
        self,
        channel: grpc.Channel,
        address: str,
        header: agent_pb2.ReceiveHeader,
        pump: SourcePump,
        release: Callable[[], None],
    ) -> None:
        self.address = address
        self._release = release  # the connection, once the call is over
        self.pump = pump
        self.source_error: errors.AgentError | None = None
        self._channel = channel
        self._done = threading.Event()
        call = channel.stream_unary(
            RECEIVE_METHOD,
            request_serializer=encode_message,
            response_deserializer=agent_pb2.ReceiveReply.FromString,
        )
        self._future = call.future(self._messages(header))
        self._future.add_done_callback(lambda _: self._done.set())

    def _messages(self, header: agent_pb2.ReceiveHeader) -> Iterator[Any]:
        yield agent_pb2.ReceiveMessage(header=header)
        try:
            yield from self.pump.chunks()
        except errors.AgentError as exc:
            self.source_error = exc
            yield agent_pb2.ReceiveMessage(trailer=agent_pb2.ReceiveTrailer(error=str(exc)))
            return
        summary = self.pump.summary()
        trailer = agent_pb2.ReceiveTrailer(bytes=summary.bytes, checksum=summary.checksum)
        yield agent_pb2.ReceiveMessage(trailer=trailer)

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def cancel(self) -> None:
        self._future.cancel()
        self.pump.close()

    def result(self) -> TransferResult:
        try:
            reply = self._future.result()
        except grpc.FutureCancelledError:
            raise errors.Cancelled("the transfer was cancelled") from None
        except grpc.RpcError as exc:
            if self.source_error is not None:
                raise self.source_error from None
            raise error_from_rpc(exc, self.address) from None
        finally:
            self.pump.close()
            release, self._release = self._release, _nothing  # once, however often asked
            release()
        return convert.result_from_pb(reply.result)


def _nothing() -> None:
    pass
