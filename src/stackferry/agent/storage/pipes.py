"""ByteSource / ByteSink over a child process's stdout / stdin (tar, zfs send / receive).

The pipes are enlarged to 1 MiB (F_SETPIPE_SZ): with the default 64 KiB pipe every
1 MiB chunk costs sixteen wake-ups of each side (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
from collections.abc import Callable
from typing import cast

from stackferry.agent.errors import AgentError, CommandFailed
from stackferry.agent.exec import Process
from stackferry.agent.streams import Received

PIPE_SIZE = 1 << 20


def enlarge_pipe(fd: int) -> None:
    # Best effort: the kernel caps it at /proc/sys/fs/pipe-max-size for unprivileged users.
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


class ProcessSource:
    """The stdout of a producer (``tar -c``, ``zfs send``); its exit status decides success."""

    def __init__(self, process: Process) -> None:
        assert process.popen.stdout is not None
        self.process = process
        self._out = cast(io.FileIO, process.popen.stdout)  # unbuffered: bufsize=0
        enlarge_pipe(self._out.fileno())

    def readinto(self, buf: memoryview) -> int:
        try:
            return self._out.readinto(buf) or 0
        except (OSError, ValueError) as exc:  # ValueError: the pipe was closed by abort
            raise AgentError(f"{self.process.argv[0]} output broke: {exc}") from exc

    def finish(self) -> None:
        self.process.finish()

    def abort(self) -> None:
        self.process.kill()


class ProcessSink:
    """The stdin of a consumer (``tar -x``, ``zfs receive``). ``on_commit`` runs after the
    consumer exited 0 and names what was received; ``on_abort`` removes partial output."""

    def __init__(
        self,
        process: Process,
        on_commit: Callable[[], Received],
        on_abort: Callable[[], None],
    ) -> None:
        assert process.popen.stdin is not None
        self.process = process
        self._in = process.popen.stdin
        self._on_commit = on_commit
        self._on_abort = on_abort
        self._aborted = False
        enlarge_pipe(self._in.fileno())

    def write(self, data: memoryview | bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = self._in.write(view)
                view = view[n or 0 :]
        except (OSError, ValueError) as exc:
            # The consumer died: its stderr says why (e.g. "out of space").
            self.process.kill()
            raise CommandFailed(
                self.process.argv, self.process.popen.returncode, self.process.stderr
            ) from exc

    def commit(self) -> Received:
        self.process.finish()
        return self._on_commit()

    def abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        self.process.kill()
        self._on_abort()
