"""Wire compression of agent-to-agent streams: each chunk compressed on its own, tagged.

The sending pump encodes every chunk (agent/transfer.py), the receiving pump decodes it
before the checksum and the sink: the checksum and byte count in the trailer are those of
the uncompressed stream, so ``zfs receive`` sees exactly what ``zfs send`` wrote, and a
corrupted compressed chunk fails either its decoder or the checksum before anything is
committed. A compressed stream's chunk is one tag byte (TAG_RAW, TAG_LZ4, TAG_ZSTD) and
its payload; an uncompressed stream ("none") has no tag at all, as before.

zstandard and lz4 release the GIL while they work, so the pump threads compress and
decompress while gRPC's threads move the bytes. zstd's level follows what holds the stream
up, as ``zstd --adapt`` does (LevelControl): level 1 while the network is the bound, zstd's
fast level -1 while the network waits for the compressor (a slow or busy CPU).

``auto`` compresses a few small samples of each chunk with lz4 (about 10 µs per chunk) and
compresses the chunk with zstd only when they shrink; a chunk that still does not gain goes
raw, so incompressible data (already compressed files, encrypted datasets) costs the
sampling and one tag byte per chunk.
"""

from __future__ import annotations

import threading

import lz4.block
import zstandard

from stackferry.agent.errors import DataLoss, InvalidArgument
from stackferry.hostapi import COMPRESSIONS

TAG_RAW, TAG_LZ4, TAG_ZSTD = 0, 1, 2
CODEC_OF_TAG = {TAG_RAW: "none", TAG_LZ4: "lz4", TAG_ZSTD: "zstd"}
# Level 1, not zstd's default 3: on 1 MiB chunks of database pages and logs it keeps ~95 %
# of level 3's ratio at about twice its speed (bench/compress.py), and the compressor, not
# the link, bounds a compressed stream on a 1 Gbit/s link. When the network waits for it,
# level -1: ~10 % faster on both ends for a ratio of 2.24 instead of 2.64 on the corpus of
# bench/compress.py (bench/README.md: at a fixed level -1 the corpus moved 1.86x faster than
# uncompressed, at level 1 1.69x, on the 2-core VM busy with other test runs).
ZSTD_LEVELS = (1, -1)  # strongest first
ADAPT_WINDOW = 8  # chunks between two decisions of LevelControl
MAX_CHUNK = 16 << 20  # a decoded chunk larger than this is refused (pump chunks are 1 MiB)
# auto: a chunk is compressed when its samples shrink below SAMPLE_GAIN of their size,
# and kept compressed when the whole chunk shrinks below KEEP_GAIN.
SAMPLES, SAMPLE_BYTES = 4, 8 << 10
SAMPLE_GAIN, KEEP_GAIN = 0.9, 0.95


def check_compression(name: str) -> str:
    """``name`` ("" = "none") or InvalidArgument naming the known ones."""
    name = name or "none"
    if name not in COMPRESSIONS:
        raise InvalidArgument(
            f"unknown compression {name!r}: expected one of {', '.join(COMPRESSIONS)}"
        )
    return name


class LevelControl:
    """zstd's level for the next chunks, from whether the network had to wait for each
    compressed chunk: every ADAPT_WINDOW chunks, one level faster when it waited for more
    than half of them, one level stronger when it waited for none. A stream bound by the
    link or by its reader stays at the strongest level; one bound by the compressor moves
    to the faster level, and back whenever the compressor gets ahead again, so that the
    mix follows the CPU there is. Called by the one thread that sends the chunks."""

    def __init__(self, levels: tuple[int, ...] = ZSTD_LEVELS) -> None:
        self.levels = levels
        self._index = 0
        self._seen = 0
        self._waited = 0

    @property
    def level(self) -> int:
        return self.levels[self._index]

    def observe(self, waited: bool) -> None:
        self._seen += 1
        self._waited += waited
        if self._seen < ADAPT_WINDOW:
            return
        if 2 * self._waited > self._seen:
            self._index = min(self._index + 1, len(self.levels) - 1)
        elif self._waited == 0:
            self._index = max(self._index - 1, 0)
        self._seen = self._waited = 0


class ChunkEncoder:
    """Encodes the chunks of one stream, from several threads at once (one zstd context
    per thread and level: a context is not shared); counts the codecs it used (the transfer
    result says which: "auto" on random data shows "none")."""

    def __init__(self, compression: str) -> None:
        self.compression = check_compression(compression)
        if self.compression == "none":
            raise InvalidArgument("an uncompressed stream has no chunk encoder")
        self.control = LevelControl()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.used: dict[str, int] = {}

    def _zstd(self, level: int) -> zstandard.ZstdCompressor:
        contexts: dict[int, zstandard.ZstdCompressor] | None = getattr(self._local, "zstd", None)
        if contexts is None:
            contexts = self._local.zstd = {}
        if level not in contexts:
            contexts[level] = zstandard.ZstdCompressor(level=level)
        return contexts[level]

    def encode(self, raw: memoryview) -> tuple[int, bytes | None]:
        """(tag, payload); payload None: send the raw bytes after the tag."""
        if self.compression == "lz4":
            tag, payload = TAG_LZ4, lz4.block.compress(raw, store_size=True)
        elif self.compression == "zstd" or _samples_shrink(raw):
            tag, payload = TAG_ZSTD, self._zstd(self.control.level).compress(raw)
            if self.compression == "auto" and len(payload) > KEEP_GAIN * len(raw):
                tag, payload = TAG_RAW, None
        else:
            tag, payload = TAG_RAW, None
        codec = CODEC_OF_TAG[tag]
        with self._lock:
            self.used[codec] = self.used.get(codec, 0) + 1
        return tag, payload

    def codecs(self) -> str:
        """What the chunks used: "zstd", "none", or e.g. "none+zstd" for a mix."""
        with self._lock:
            return "+".join(sorted(self.used)) or "none"


def _samples_shrink(raw: memoryview) -> bool:
    if len(raw) <= SAMPLES * SAMPLE_BYTES:
        sample = bytes(raw)
    else:
        step = (len(raw) - SAMPLE_BYTES) // (SAMPLES - 1)
        sample = b"".join(raw[i * step : i * step + SAMPLE_BYTES] for i in range(SAMPLES))
    return len(lz4.block.compress(sample, store_size=False)) < SAMPLE_GAIN * len(sample)


class ChunkDecoder:
    """Decodes the tagged chunks of a compressed stream; a chunk that does not decode is
    DataLoss (the receiver aborts: nothing is committed)."""

    def __init__(self) -> None:
        self._zstd = zstandard.ZstdDecompressor()

    def decode(self, chunk: memoryview | bytes) -> memoryview | bytes:
        view = memoryview(chunk)
        if len(view) == 0:
            raise DataLoss("stream corrupted: an empty chunk in a compressed stream")
        tag, payload = view[0], view[1:]
        try:
            if tag == TAG_RAW:
                return payload
            if tag == TAG_ZSTD:
                size = zstandard.frame_content_size(payload)
                if not 0 <= size <= MAX_CHUNK:
                    raise DataLoss(f"a zstd chunk declares {size} bytes")
                return self._zstd.decompress(payload, max_output_size=MAX_CHUNK)
            if tag == TAG_LZ4:
                size = int.from_bytes(payload[:4], "little")
                if len(payload) < 4 or size > MAX_CHUNK:
                    raise DataLoss(f"an lz4 chunk declares {size} bytes")
                return lz4.block.decompress(payload)
        except DataLoss as exc:
            raise DataLoss(f"stream corrupted: {exc}; nothing was received") from None
        except (zstandard.ZstdError, lz4.block.LZ4BlockError) as exc:
            raise DataLoss(
                f"stream corrupted: a {CODEC_OF_TAG[tag]} chunk does not decode ({exc}); "
                "nothing was received"
            ) from None
        raise DataLoss(f"stream corrupted: unknown chunk tag {tag}; nothing was received")
