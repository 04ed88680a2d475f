"""ByteSource / ByteSink over a child process's stdout / stdin: every transfer that streams
through a command (tar for the directory backend, zfs send / receive, docker save) uses these.

The pipes are enlarged to 1 MiB (F_SETPIPE_SZ): with the default 64 KiB pipe every
1 MiB chunk costs sixteen wake-ups of each side (docs/performance.md). What differs
between the commands is handed in: how a failure is reported (zfs stderr becomes a typed
error), what a completed receive produced, and how an aborted one is undone.
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
# A consumer that broke its pipe is exiting: it gets this long to say why on stderr.
DEAD_CONSUMER_GRACE = 30.0

Failure = Callable[[CommandFailed], AgentError]


def _as_is(exc: CommandFailed) -> AgentError:
    return exc


def enlarge_pipe(fd: int) -> None:
    # Best effort: Linux-only, and capped at /proc/sys/fs/pipe-max-size for unprivileged users.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


class ProcessSource:
    """The stdout of a producer; its exit status decides success. ``failure`` turns a
    non-zero exit into the error reported; ``finish_timeout`` bounds the wait for the exit."""

    def __init__(
        self, process: Process, failure: Failure = _as_is, finish_timeout: float | None = None
    ) -> None:
        assert process.popen.stdout is not None
        self.process = process
        self._out = cast(io.FileIO, process.popen.stdout)  # unbuffered: bufsize=0
        self._failure = failure
        self._finish_timeout = finish_timeout
        enlarge_pipe(self._out.fileno())

    def readinto(self, buf: memoryview) -> int:
        try:
            return self._out.readinto(buf) or 0
        except (OSError, ValueError) as exc:  # ValueError: the pipe was closed by abort
            raise AgentError(f"{self.process.argv[0]} output broke: {exc}") from exc

    def finish(self) -> None:
        try:
            self.process.finish(self._finish_timeout)
        except CommandFailed as exc:
            raise self._failure(exc) from None

    def abort(self) -> None:
        self.process.kill()


class ProcessSink:
    """The stdin of a consumer. ``on_commit`` runs once the consumer exited 0 and names what
    was received (it cleans up after itself if it fails: the consumer is done by then);
    ``on_abort`` removes what a consumer that did not finish left behind. ``abort_grace``
    is how long the consumer gets to exit on its own after EOF before it is killed."""

    def __init__(
        self,
        process: Process,
        on_commit: Callable[[], Received],
        on_abort: Callable[[], None],
        failure: Failure = _as_is,
        abort_grace: float = 5.0,
    ) -> None:
        assert process.popen.stdin is not None
        self.process = process
        self._in = cast(io.FileIO, process.popen.stdin)
        self._on_commit = on_commit
        self._on_abort = on_abort
        self._failure = failure
        self._abort_grace = abort_grace
        self._done = False  # the consumer exited 0, or the sink was aborted
        enlarge_pipe(self._in.fileno())

    def write(self, data: memoryview | bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = self._in.write(view)
                view = view[n or 0 :]
        except (OSError, ValueError) as exc:
            # The consumer died: its stderr says why (e.g. "out of space").
            self.process.kill(grace=DEAD_CONSUMER_GRACE)
            died = CommandFailed(
                self.process.argv, self.process.popen.returncode, self.process.stderr
            )
            raise self._failure(died) from exc

    def commit(self) -> Received:
        """Ends the input and waits; a consumer that failed is aborted (nothing partial)."""
        try:
            self.process.finish()
        except CommandFailed as exc:
            self.abort()
            raise self._failure(exc) from None
        self._done = True
        return self._on_commit()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self.process.kill(grace=self._abort_grace)
        self._on_abort()
