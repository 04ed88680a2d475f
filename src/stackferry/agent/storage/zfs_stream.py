"""The two pipes of a zfs transfer: `zfs send` as a ByteSource, `zfs receive` as a ByteSink.

The send side enlarges its stdout pipe to 1 MiB and reads straight into the caller's
buffer (docs/performance.md). The receive side knows what the target looked
like before it started, so ``abort`` can put it back: zfs-fuse leaves a half-received
new dataset behind when its receiver is killed, and a receive that completed just
before an abort has already added a snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import structlog

from stackferry.agent import errors, exec
from stackferry.agent.storage.zfs_errors import zfs_error
from stackferry.agent.streams import Received

log = structlog.get_logger(__name__)

_PIPE_BYTES = 1 << 20
_EOF_GRACE_SECONDS = 10.0


def _enlarge_pipe(fd: int) -> None:
    # Linux-only (F_SETPIPE_SZ); the default 64 KiB pipe halves throughput.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _failure(proc: exec.Process, rc: int, action: str) -> errors.AgentError:
    return zfs_error(errors.CommandFailed(proc.argv, rc, proc.stderr), action)


class ZfsSendSource:
    """`zfs send ...` running; read its stream with readinto, then finish (or abort)."""

    def __init__(self, argv: list[str], what: str) -> None:
        self.what = what
        self.proc = exec.spawn(argv, stdout=True)
        assert self.proc.popen.stdout is not None
        self._stdout = cast(io.FileIO, self.proc.popen.stdout)  # unbuffered: bufsize=0
        _enlarge_pipe(self._stdout.fileno())

    def readinto(self, buf: memoryview) -> int:
        """Fills buf with what the pipe holds (at least 1 byte); 0 at the end of the stream."""
        return self._stdout.readinto(buf) or 0

    def finish(self) -> None:
        self._stdout.close()
        rc = self.proc.wait()
        if rc != 0:
            raise _failure(self.proc, rc, f"zfs send {self.what}")

    def abort(self) -> None:
        self.proc.kill()


@dataclass
class ReceivePlan:
    """What open_receive found and did before starting the receiver."""

    target: str
    full: bool  # a full stream into a dataset that did not exist
    snapshots_before: dict[str, str]  # name -> guid on the target
    created_parents: list[str] = field(default_factory=list)  # shallowest first
    resumable: bool = False  # receive -s: an abort keeps the partial state for send -t


class ZfsReceiveSink:
    """`zfs receive ...` running; write the stream, then commit (or abort)."""

    def __init__(
        self,
        argv: list[str],
        plan: ReceivePlan,
        settle: Callable[[ReceivePlan], Received],
        undo: Callable[[ReceivePlan], None],
    ) -> None:
        self.plan = plan
        self._settle = settle
        self._undo = undo
        self._done = False
        self.proc = exec.spawn(argv, stdin=True)
        assert self.proc.popen.stdin is not None
        self._stdin = cast(io.FileIO, self.proc.popen.stdin)
        _enlarge_pipe(self._stdin.fileno())

    def write(self, data: memoryview | bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = self._stdin.write(view)
                view = view[written or 0 :]
        except (BrokenPipeError, ValueError):
            rc = self.proc.wait(timeout=30)
            raise _failure(self.proc, rc, f"zfs receive {self.plan.target}") from None

    def commit(self) -> Received:
        self._close_input()
        rc = self.proc.wait()
        if rc != 0:
            self.abort()
            raise _failure(self.proc, rc, f"zfs receive {self.plan.target}")
        self._done = True
        return self._settle(self.plan)

    def _close_input(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()

    def abort(self) -> None:
        """Ends the receiver (EOF first: zfs then cleans up itself), then undoes what is left."""
        if self._done:
            return
        self._done = True
        self.proc.kill(grace=_EOF_GRACE_SECONDS)
        try:
            self._undo(self.plan)
        except errors.AgentError as exc:
            log.error("aborted receive not cleaned up", target=self.plan.target, error=str(exc))
