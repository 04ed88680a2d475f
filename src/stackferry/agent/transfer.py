"""The stream pump: moves a transfer's bytes between a ByteSource / ByteSink and the network.

Throughput matters (docs/performance.md): chunks are ~1 MiB, read with
``readinto`` into a reused buffer, and the per-chunk work (read, checksum, the one copy
into the ``bytes`` gRPC needs) runs in its own thread so that it overlaps the network I/O
of the caller's thread (pipe I/O and large copies release or barely hold the GIL; xxh3
takes ~0.05 ms per chunk). Memory stays bounded whatever the stream size: at most
``depth`` chunks wait between the two threads.

No grpc here: the RPC layer frames chunks for the wire through the ``frame`` callback,
whose prefix is written into headroom before the chunk, so that the chunk is copied once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor

import xxhash

from stackferry.agent.compression import ChunkDecoder, ChunkEncoder
from stackferry.agent.errors import AgentError, Cancelled, DataLoss, InvalidArgument
from stackferry.agent.streams import ByteSink, ByteSource
from stackferry.hostapi import TransferProgress, TransferResult

CHUNK_SIZE = 1 << 20
HEADROOM = 16  # bytes reserved before each chunk for a wire prefix (tag + varint length)
DEPTH = 8  # chunks in flight between the pump thread and the network thread
# Compressing threads of a compressed send: zstd at level 1 does ~250-500 MB/s a core, so one
# thread alone would hold a compressible stream below twice what a 1 Gbit/s link carries.
ENCODE_THREADS = 2
_POLL = 0.2  # seconds between checks of the stop flag while blocked on the queue
_END = object()

Frame = Callable[[int], bytes]  # the wire prefix of an n-byte chunk

# The transport checksum guards against truncation or corruption in the pipe between the
# agents; it is not a security measure: zfs streams carry their own per-record checksums,
# which zfs receive verifies, and TLS authenticates the channel. So a fast non-cryptographic
# hash is used (xxh3-128, > 20 GB/s): sha256 cost ~0.6 CPU-s per GiB on each side.
# Written "algorithm:hexdigest" so that a receiver can refuse an algorithm it does not know.
CHECKSUM_ALGORITHM = "xxh3-128"


class Checksum:
    """The running checksum of every byte in order, as "xxh3-128:<hexdigest>"."""

    def __init__(self) -> None:
        self._hash = xxhash.xxh3_128()

    def update(self, data: memoryview | bytes) -> None:
        self._hash.update(data)

    def value(self) -> str:
        return f"{CHECKSUM_ALGORITHM}:{self._hash.hexdigest()}"


def check_algorithm(checksum: str) -> None:
    """Raises InvalidArgument unless ``checksum`` is "xxh3-128:<hexdigest>"."""
    algorithm, sep, _ = checksum.partition(":")
    if not sep or algorithm != CHECKSUM_ALGORITHM:
        raise InvalidArgument(
            f"unsupported stream checksum {checksum[:40]!r}: this agent expects "
            f"{CHECKSUM_ALGORITHM}:<hexdigest>"
        )


class Meter:
    """Counts bytes, paces them to a bandwidth limit and reports progress (rate, ETA).

    One thread adds, any thread reads ``progress``: int updates are atomic under the GIL."""

    def __init__(
        self, expected: int = 0, limit: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.expected = expected
        self.limit = limit
        self.done = 0
        self._clock = clock
        self.started = clock()
        self._last = (self.started, 0)

    def add(self, n: int) -> None:
        self.done += n

    def pace(self) -> float:
        """Seconds to sleep before the next chunk so the average stays under the limit."""
        if self.limit <= 0:
            return 0.0
        return max(0.0, self.started + self.done / self.limit - self._clock())

    def elapsed(self) -> float:
        return self._clock() - self.started

    def progress(self) -> TransferProgress:
        """The rate is measured since the previous call (or the start): a recent rate, not
        the average of the whole transfer, so the ETA follows changes of speed."""
        now, done = self._clock(), self.done
        then, before = self._last
        self._last = (now, done)
        elapsed = now - self.started
        if now - then > 0.05:
            rate = (done - before) / (now - then)
        else:
            rate = done / elapsed if elapsed > 0 else 0.0
        remaining = self.expected - done
        eta = max(0.0, remaining / rate) if self.expected > 0 and rate > 0 else -1.0
        return TransferProgress(done, self.expected, rate, eta, elapsed)


class SourcePump:
    """Reads a ByteSource in a thread; ``chunks()`` yields each framed chunk as ``bytes``,
    ready for gRPC (its serializer needs ``bytes``: copying in this thread keeps that copy
    off gRPC's sending thread, the stream's serial path). The pump owns the source: it calls
    ``finish`` at the end (raising the producer's error, e.g. zfs send's stderr) and
    ``abort`` on any failure or on ``close``.
    """

    def __init__(
        self,
        source: ByteSource,
        meter: Meter,
        chunk_size: int = CHUNK_SIZE,
        frame: Frame | None = None,
        depth: int = DEPTH,
        encoder: ChunkEncoder | None = None,
    ) -> None:
        self.source = source
        self.meter = meter
        self.chunk_size = chunk_size
        self.frame = frame
        self.encoder = encoder  # None: chunks go as read, untagged (agent/compression.py)
        self.wire_bytes = 0  # chunk bytes after compression
        self._sum = Checksum()
        self._buffer = bytearray(HEADROOM + chunk_size)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._produce, name="pump-read", daemon=True)
        self._pool = (
            ThreadPoolExecutor(ENCODE_THREADS, thread_name_prefix="pump-encode")
            if encoder is not None
            else None
        )

    def chunks(self) -> Generator[bytes, None, None]:
        """The framed chunks in order; then the source is finished (raises if it failed)."""
        self._thread.start()
        try:
            while True:
                item = self._get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Future):  # a chunk being compressed, in stream order
                    assert self.encoder is not None
                    self.encoder.control.observe(waited=not item.done())
                    item = _encoded(item)
                assert isinstance(item, tuple)
                message, size = item
                self.wire_bytes += size
                yield message
            self._thread.join()
            self.source.finish()
        except BaseException:
            self.close()
            raise

    def summary(self) -> TransferResult:
        """What was read so far: the byte count and the checksum both ends compare."""
        return TransferResult(
            self.meter.done,
            self._sum.value(),
            seconds=self.meter.elapsed(),
            wire_bytes=self.wire_bytes,
            compression=self.encoder.codecs() if self.encoder is not None else "none",
        )

    def close(self) -> None:
        """Stops early: kills the producer (unblocking a read) and joins the thread."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.source.abort()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _produce(self) -> None:
        view = memoryview(self._buffer)
        try:
            while not self._stop.is_set():
                if self._pool is not None:  # each chunk is its own buffer while it is encoded
                    view = memoryview(bytearray(HEADROOM + self.chunk_size))
                got = self._fill(view[HEADROOM:])
                if got == 0:
                    break
                self._sum.update(view[HEADROOM : HEADROOM + got])
                if self._pool is not None:
                    item: object = self._pool.submit(self._message, view, got)
                else:
                    item = self._message(view, got)
                if not self._put(item):
                    return
                self.meter.add(got)
                delay = self.meter.pace()
                if delay > 0 and self._stop.wait(delay):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc if isinstance(exc, AgentError) else AgentError(f"reading failed: {exc}"))
            return
        self._put(_END)

    def _message(self, view: memoryview, got: int) -> tuple[bytes, int]:
        """The chunk of ``got`` bytes read after the headroom, encoded and framed, and its
        size on the wire: one copy of a raw chunk (tag and prefix go into the headroom), one
        of a compressed payload."""
        start, payload = HEADROOM, None
        if self.encoder is not None:
            tag, payload = self.encoder.encode(view[HEADROOM : HEADROOM + got])
            if payload is None:
                start -= 1
                view[start] = tag
            else:
                payload = bytes((tag,)) + payload
        size = HEADROOM + got - start if payload is None else len(payload)
        prefix = self.frame(size) if self.frame is not None else b""
        if payload is not None:
            return prefix + payload, size
        start -= len(prefix)
        view[start : start + len(prefix)] = prefix
        return bytes(view[start : HEADROOM + got]), size

    def _fill(self, view: memoryview) -> int:
        """Reads until the buffer is full or the stream ends: fewer, larger messages."""
        got = 0
        while got < len(view):
            n = self.source.readinto(view[got:])
            if n == 0:
                break
            got += n
        return got

    def _get(self) -> object:
        while not self._stop.is_set():
            try:
                return self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
        raise Cancelled("the send was stopped")

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False


def _encoded(future: Future[tuple[bytes, int]]) -> tuple[bytes, int]:
    try:
        return future.result()
    except AgentError:
        raise
    except Exception as exc:
        raise AgentError(f"compressing a chunk failed: {exc}") from exc


class SinkPump:
    """Writes chunks to a ByteSink in a thread (checksum + write overlap the network reads).

    ``feed`` blocks when ``depth`` chunks wait (backpressure reaches the sender through
    gRPC flow control). ``commit`` drains, then commits only if the byte count and checksum
    match the sender's trailer; any failure, and ``abort``, abort the sink (nothing partial).
    """

    def __init__(
        self,
        sink: ByteSink,
        meter: Meter,
        depth: int = DEPTH,
        decoder: ChunkDecoder | None = None,
    ) -> None:
        self.sink = sink
        self.meter = meter
        self.decoder = decoder  # a compressed stream's chunks are decoded before all else
        self.wire_bytes = 0
        self._sum = Checksum()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = "open"  # open -> committed | aborted
        self._thread = threading.Thread(target=self._consume, name="pump-write", daemon=True)
        self._thread.start()

    def feed(self, data: memoryview | bytes) -> None:
        while True:
            if self._error is not None:
                raise self._error
            if self._stop.is_set():
                raise Cancelled("the receive was aborted")
            try:
                self._queue.put(data, timeout=_POLL)
                return
            except queue.Full:
                continue

    def commit(self, expected_bytes: int, expected_checksum: str) -> TransferResult:
        try:
            check_algorithm(expected_checksum)
        except InvalidArgument:
            self.abort()
            raise
        self._drain()
        if self._error is not None:
            self.abort()
            raise self._error
        digest = self._sum.value()
        if self.meter.done != expected_bytes or digest != expected_checksum:
            self.abort()
            raise DataLoss(
                f"stream corrupted: received {self.meter.done} bytes with checksum {digest}, "
                f"the sender sent {expected_bytes} bytes with checksum {expected_checksum}"
            )
        with self._lock:
            if self._state != "open":
                raise Cancelled("the receive was aborted")
            self._state = "committing"
        try:
            received = self.sink.commit()
        except BaseException:
            self.abort()
            raise
        with self._lock:
            if self._state == "aborted":  # cancelled while the sink was committing
                raise Cancelled("the receive was cancelled while committing")
            self._state = "committed"
        return TransferResult(
            self.meter.done,
            digest,
            received.snapshot,
            received.guid,
            self.meter.elapsed(),
            wire_bytes=self.wire_bytes,
        )

    def abort(self) -> None:
        """Idempotent, callable from any thread (e.g. a cancellation callback); a committed
        sink is left alone."""
        with self._lock:
            if self._state == "committed" or self._state == "aborted":
                return
            self._state = "aborted"
        self._stop.set()
        self.sink.abort()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _drain(self) -> None:
        while self._error is None and not self._stop.is_set():
            try:
                self._queue.put(_END, timeout=_POLL)
                break
            except queue.Full:
                continue
        self._thread.join()

    def _consume(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                assert isinstance(item, memoryview | bytes)
                self.wire_bytes += len(item)
                if self.decoder is not None:
                    item = self.decoder.decode(item)
                self._sum.update(item)
                self.sink.write(item)
                self.meter.add(len(item))
        except BaseException as exc:
            self._error = exc if isinstance(exc, AgentError) else AgentError(str(exc))
