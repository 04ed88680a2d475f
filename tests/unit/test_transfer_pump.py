"""The stream pump over in-memory ByteSource / ByteSink implementations (pure, no processes)."""

from __future__ import annotations

import os
import threading

import pytest
import xxhash

from stackferry.agent.errors import AgentError, CommandFailed, InvalidArgument
from stackferry.agent.streams import Received
from stackferry.agent.transfer import Meter, SinkPump, SourcePump


def checksum(data: bytes) -> str:
    return "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()


class MemorySource:
    """A ByteSource over bytes, handing out at most ``step`` bytes per read; ``fail`` is raised
    by finish (a producer that exited non-zero); ``endless`` never ends."""

    def __init__(
        self,
        data: bytes = b"",
        step: int = 300_000,
        fail: AgentError | None = None,
        endless: bool = False,
    ) -> None:
        self.data, self.step, self.fail, self.endless = data, step, fail, endless
        self.pos = 0
        self.finished = self.aborted = False

    def readinto(self, buf: memoryview) -> int:
        if self.aborted:
            raise AgentError("read after abort")
        if self.endless:
            n = min(len(buf), self.step)
            self.pos += n
            return n
        n = min(len(buf), self.step, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def finish(self) -> None:
        self.finished = True
        if self.fail:
            raise self.fail

    def abort(self) -> None:
        self.aborted = True


class MemorySink:
    def __init__(self, fail_after: int = -1) -> None:
        self.data = bytearray()
        self.fail_after = fail_after
        self.committed = self.aborted = False

    def write(self, data: memoryview | bytes) -> None:
        if 0 <= self.fail_after <= len(self.data):
            raise CommandFailed(["zfs", "receive"], 1, "cannot receive: out of space")
        self.data += data

    def commit(self) -> Received:
        self.committed = True
        return Received("dst/ds@s1", "42")

    def abort(self) -> None:
        self.aborted = True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame(n: int) -> bytes:
    return b"\x12" + n.to_bytes(4, "big")


def test_chunks_carry_every_byte_in_order_with_their_frame_and_checksum() -> None:
    data = os.urandom(3 * (1 << 20) + 12345)
    source = MemorySource(data)
    pump = SourcePump(source, Meter(), frame=frame)
    out = bytearray()
    sizes = []
    for chunk in pump.chunks():
        n = int.from_bytes(chunk[1:5], "big")
        assert chunk[0] == 0x12 and len(chunk) == 5 + n
        sizes.append(n)
        out += chunk[5:]
    assert bytes(out) == data
    assert sizes[:3] == [1 << 20] * 3  # short reads are merged into full chunks
    summary = pump.summary()
    assert summary.bytes == len(data)
    assert summary.checksum == checksum(data)
    assert source.finished and not source.aborted


def test_an_empty_stream_ends_without_chunks_and_is_finished() -> None:
    source = MemorySource(b"")
    pump = SourcePump(source, Meter())
    assert list(pump.chunks()) == []
    assert pump.summary().checksum == checksum(b"")
    assert source.finished


def test_a_failing_producer_raises_its_error_after_the_chunks() -> None:
    failure = CommandFailed(["zfs", "send"], 1, "cannot open 'x@s': dataset does not exist")
    source = MemorySource(b"x" * 1000, fail=failure)
    pump = SourcePump(source, Meter())
    with pytest.raises(CommandFailed, match="does not exist"):
        list(pump.chunks())
    assert source.aborted


def test_a_read_error_is_raised_and_the_source_aborted() -> None:
    class Broken(MemorySource):
        def readinto(self, buf: memoryview) -> int:
            raise OSError("input/output error")

    source = Broken()
    with pytest.raises(AgentError, match="input/output error"):
        list(SourcePump(source, Meter()).chunks())
    assert source.aborted


def test_memory_stays_bounded_when_the_network_is_slower_than_the_source() -> None:
    source = MemorySource(endless=True, step=1 << 20)
    pump = SourcePump(source, Meter(), depth=3)
    chunks = pump.chunks()
    for _ in range(5):
        next(chunks)
    threading.Event().wait(0.3)  # let the reader run ahead as far as it can
    # consumed 5, at most depth queued + 1 being filled: the reader cannot run further ahead
    assert source.pos <= (5 + 3 + 1) * (1 << 20)
    chunks.close()
    assert source.aborted
    assert not pump._thread.is_alive()


def test_yielded_buffers_are_not_overwritten_while_in_the_window() -> None:
    data = b"".join(bytes([i]) * (1 << 20) for i in range(12))
    pump = SourcePump(MemorySource(data, step=1 << 20), Meter(), depth=2)
    for i, chunk in enumerate(pump.chunks()):
        threading.Event().wait(0.01)  # the reader fills the other buffers meanwhile
        assert chunk[0] == i and chunk[-1] == i


def test_pace_follows_the_bandwidth_limit() -> None:
    clock = Clock()
    meter = Meter(limit=1000, clock=clock)
    assert meter.pace() == 0
    meter.add(3000)
    assert meter.pace() == pytest.approx(3.0)
    clock.now += 2.5
    assert meter.pace() == pytest.approx(0.5)
    assert Meter(clock=clock).pace() == 0  # no limit


def test_progress_reports_recent_rate_and_eta() -> None:
    clock = Clock()
    meter = Meter(expected=10_000, clock=clock)
    first = meter.progress()
    assert first.bytes_done == 0 and first.eta_seconds == -1
    clock.now += 1
    meter.add(2000)
    p = meter.progress()
    assert (p.bytes_done, p.bytes_expected, p.elapsed_seconds) == (2000, 10_000, 1.0)
    assert p.rate_bytes_per_second == pytest.approx(2000)
    assert p.eta_seconds == pytest.approx(4.0)
    clock.now += 2
    meter.add(2000)  # slower now: 1000 B/s
    p = meter.progress()
    assert p.rate_bytes_per_second == pytest.approx(1000)
    assert p.eta_seconds == pytest.approx(6.0)
    assert Meter(clock=clock).progress().eta_seconds == -1  # size unknown


def test_sink_pump_commits_when_count_and_checksum_match() -> None:
    sink = MemorySink()
    pump = SinkPump(sink, Meter())
    data = os.urandom(5000)
    for i in range(0, 5000, 1000):
        pump.feed(memoryview(data)[i : i + 1000])
    summary = pump.commit(5000, checksum(data))
    assert bytes(sink.data) == data and sink.committed
    assert (summary.received_snapshot, summary.received_guid) == ("dst/ds@s1", "42")
    pump.abort()  # a late cancellation callback leaves a committed sink alone
    assert not sink.aborted


@pytest.mark.parametrize("wrong", ["count", "checksum"])
def test_sink_pump_aborts_on_a_mismatch(wrong: str) -> None:
    sink = MemorySink()
    pump = SinkPump(sink, Meter())
    pump.feed(b"abc")
    digest = checksum(b"abc")
    with pytest.raises(AgentError, match="corrupted"):
        if wrong == "count":
            pump.commit(4, digest)
        else:
            pump.commit(3, checksum(b"abd"))
    assert sink.aborted and not sink.committed


@pytest.mark.parametrize("value", ["sha256:" + "0" * 64, "0" * 32, ""])
def test_sink_pump_refuses_an_unknown_checksum_algorithm(value: str) -> None:
    sink = MemorySink()
    pump = SinkPump(sink, Meter())
    pump.feed(b"abc")
    with pytest.raises(InvalidArgument, match="xxh3-128"):
        pump.commit(3, value)
    assert sink.aborted and not sink.committed


def test_sink_pump_reports_a_dead_consumer_and_aborts() -> None:
    sink = MemorySink(fail_after=0)
    pump = SinkPump(sink, Meter(), depth=1)
    with pytest.raises(CommandFailed, match="out of space"):
        for _ in range(100):
            pump.feed(b"x" * 100)
        pump.commit(10_000, "")
    pump.abort()
    assert sink.aborted and not sink.committed


def test_sink_pump_abort_is_idempotent_and_stops_feeding() -> None:
    sink = MemorySink()
    pump = SinkPump(sink, Meter())
    pump.feed(b"abc")
    pump.abort()
    pump.abort()
    assert sink.aborted
    with pytest.raises(AgentError):
        pump.feed(b"more")
