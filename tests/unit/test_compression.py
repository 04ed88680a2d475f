"""Wire compression between the pumps (agent/compression.py), with in-memory ends."""

from __future__ import annotations

import os

import pytest

from stackferry.agent.compression import (
    ADAPT_WINDOW,
    TAG_RAW,
    TAG_ZSTD,
    ZSTD_LEVELS,
    ChunkDecoder,
    ChunkEncoder,
    LevelControl,
    check_compression,
)
from stackferry.agent.errors import DataLoss, InvalidArgument
from stackferry.agent.transfer import Meter, SinkPump, SourcePump
from tests.unit.test_transfer_pump import MemorySink, MemorySource

LOGS = b"".join(
    b"2026-12-01T22:%02d:%02d INFO request id=%06d path=/api/items/%d status=200\n"
    % (i % 60, i % 60, i, i % 977)
    for i in range(60_000)
)


def pump_through(data: bytes, compression: str) -> tuple[SourcePump, SinkPump, MemorySink]:
    """Every encoded chunk fed to a decoding SinkPump, then committed with the trailer."""
    source = SourcePump(MemorySource(data), Meter(), encoder=ChunkEncoder(compression))
    sink = MemorySink()
    receiver = SinkPump(sink, Meter(), decoder=ChunkDecoder())
    for chunk in source.chunks():
        receiver.feed(chunk)
    sent = source.summary()
    receiver.commit(sent.bytes, sent.checksum)
    return source, receiver, sink


@pytest.mark.parametrize("compression", ["lz4", "zstd", "auto"])
def test_a_compressed_stream_arrives_byte_identical_with_fewer_bytes_on_the_wire(
    compression: str,
) -> None:
    source, receiver, sink = pump_through(LOGS, compression)
    assert bytes(sink.data) == LOGS and sink.committed
    assert source.wire_bytes == receiver.wire_bytes
    assert source.wire_bytes < len(LOGS) / 3
    expected = "lz4" if compression == "lz4" else "zstd"
    assert source.summary().compression == expected
    assert source.summary().bytes == len(LOGS) == receiver.meter.done


def test_auto_sends_random_data_raw_and_says_so() -> None:
    data = os.urandom(3 << 20)
    source, _, sink = pump_through(data, "auto")
    assert bytes(sink.data) == data
    assert source.summary().compression == "none"
    assert source.wire_bytes == len(data) + 3  # one tag byte per 1 MiB chunk


def test_auto_mixes_codecs_chunk_by_chunk() -> None:
    data = LOGS[: 2 << 20] + os.urandom(2 << 20)
    source, _, sink = pump_through(data, "auto")
    assert bytes(sink.data) == data
    assert source.summary().compression == "none+zstd"


def test_a_corrupted_compressed_chunk_is_refused_and_nothing_committed() -> None:
    source = SourcePump(MemorySource(LOGS), Meter(), encoder=ChunkEncoder("zstd"))
    sink = MemorySink()
    receiver = SinkPump(sink, Meter(), decoder=ChunkDecoder())
    chunks = list(source.chunks())
    first = bytearray(chunks[0])
    first[len(first) // 2] ^= 0xFF
    with pytest.raises(DataLoss, match="corrupted"):
        for chunk in [bytes(first), *chunks[1:]]:
            receiver.feed(chunk)
        sent = source.summary()
        receiver.commit(sent.bytes, sent.checksum)
    receiver.abort()  # what the service does with any error
    assert sink.aborted and not sink.committed


@pytest.mark.parametrize(
    ("chunk", "why"),
    [
        (b"", "empty chunk"),
        (bytes([9]) + b"abc", "unknown chunk tag 9"),
        (bytes([TAG_ZSTD]) + b"\x28\xb5\x2f\xfd" + b"\xff" * 12, "zstd"),
        (bytes([1]) + (1 << 30).to_bytes(4, "little") + b"x", "declares"),
    ],
)
def test_the_decoder_refuses_bad_chunks_as_data_loss(chunk: bytes, why: str) -> None:
    with pytest.raises(DataLoss, match=why):
        ChunkDecoder().decode(chunk)


def test_a_raw_tagged_chunk_decodes_to_its_payload() -> None:
    assert bytes(ChunkDecoder().decode(bytes([TAG_RAW]) + b"plain")) == b"plain"


def test_an_unknown_compression_is_refused_by_name() -> None:
    assert check_compression("") == "none"
    with pytest.raises(InvalidArgument, match="none, lz4, zstd, auto"):
        check_compression("gzip")


def observe(control: LevelControl, waits: list[bool]) -> list[int]:
    """The level after each observation."""
    levels = []
    for waited in waits:
        control.observe(waited)
        levels.append(control.level)
    return levels


def test_zstd_starts_at_its_strongest_level_and_stays_while_the_network_never_waits() -> None:
    control = LevelControl()
    assert control.level == ZSTD_LEVELS[0] == 1
    assert observe(control, [False] * 4 * ADAPT_WINDOW) == [1] * 4 * ADAPT_WINDOW


def test_zstd_goes_one_level_faster_per_window_in_which_the_network_mostly_waited() -> None:
    control = LevelControl((1, -1, -3))
    half = [True] * (ADAPT_WINDOW // 2) + [False] * (ADAPT_WINDOW // 2)
    assert observe(control, half)[-1] == 1  # waiting on half the chunks is not "mostly"
    mostly = [True] * (ADAPT_WINDOW // 2 + 1) + [False] * (ADAPT_WINDOW // 2 - 1)
    levels = observe(control, mostly + mostly + mostly)
    assert levels[ADAPT_WINDOW - 2] == 1  # no decision before a window is complete
    assert levels[ADAPT_WINDOW - 1] == -1
    assert levels[2 * ADAPT_WINDOW - 1] == -3
    assert levels[-1] == -3  # the fastest level is the floor


def test_zstd_goes_back_one_level_stronger_after_a_window_without_any_wait() -> None:
    control = LevelControl((1, -1, -3))
    observe(control, [True] * 2 * ADAPT_WINDOW)
    assert control.level == -3
    assert observe(control, [False] * ADAPT_WINDOW)[-1] == -1
    one_wait = [True] + [False] * (ADAPT_WINDOW - 1)
    assert observe(control, one_wait)[-1] == -1  # a single wait holds the level
    assert observe(control, [False] * 2 * ADAPT_WINDOW)[-1] == 1


def test_chunks_compressed_at_the_faster_level_decode_byte_identical() -> None:
    """The level is the sender's choice alone: every zstd frame decodes the same way."""
    chunk = memoryview(LOGS[: 1 << 20])
    strong, fast = ChunkEncoder("zstd"), ChunkEncoder("zstd")
    observe(fast.control, [True] * ADAPT_WINDOW)
    assert fast.control.level == -1
    (_, strong_payload), (_, fast_payload) = strong.encode(chunk), fast.encode(chunk)
    assert strong_payload is not None and fast_payload is not None
    assert len(fast_payload) > len(strong_payload)  # level -1 trades ratio for speed
    decoder = ChunkDecoder()
    for payload in (strong_payload, fast_payload):
        assert bytes(decoder.decode(bytes([TAG_ZSTD]) + payload)) == bytes(chunk)
