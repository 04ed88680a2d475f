"""The chunk fast path of agent/rpc/wire.py stays wire-compatible with agent.proto."""

from __future__ import annotations

import os

import pytest

from stackferry.agent.rpc.wire import chunk_prefix, decode_receive_message, encode_message
from stackferry.api.agent.v1 import agent_pb2


@pytest.mark.parametrize("size", [0, 1, 127, 128, 300_000, 1 << 20])
def test_a_framed_chunk_is_the_protobuf_encoding(size: int) -> None:
    payload = os.urandom(size)
    framed = chunk_prefix(size) + payload
    assert agent_pb2.ReceiveMessage(chunk=payload).SerializeToString() == framed
    assert agent_pb2.SendEvent.FromString(framed).chunk == payload
    assert bytes(decode_receive_message(framed)) == payload  # type: ignore[arg-type]


def test_other_messages_go_through_protobuf() -> None:
    header = agent_pb2.ReceiveMessage(header=agent_pb2.ReceiveHeader(target_dataset="p/d"))
    assert decode_receive_message(header.SerializeToString()) == header
    done = agent_pb2.SendEvent(done=agent_pb2.TransferResult(bytes=5))
    assert agent_pb2.SendEvent.FromString(encode_message(done)) == done


def test_a_chunk_followed_by_more_fields_is_parsed_by_protobuf() -> None:
    trailer = agent_pb2.ReceiveMessage(trailer=agent_pb2.ReceiveTrailer(bytes=3))
    data = chunk_prefix(3) + b"abc" + trailer.SerializeToString()
    decoded = decode_receive_message(data)
    assert isinstance(decoded, agent_pb2.ReceiveMessage)
    assert decoded.WhichOneof("message") == "trailer"  # the last oneof field wins


def test_encode_message_passes_framed_views_through() -> None:
    view = memoryview(bytearray(chunk_prefix(2) + b"xy"))
    assert encode_message(view) == b"\x12\x02xy"
