"""The sending agent's rsync client and the hand-over of its pipes through the shim.

The agent passes one end of a socket pair down to rsync, which passes it on to its remote
shell (the shim); the shim sends back the two pipe ends rsync talks through, with the
command rsync asked it to run. From then on the agent reads what rsync sends to the "remote"
and writes what the remote answers, on those very pipes: no byte is relayed by the shim.
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

from stackferry.agent import exec as agent_exec
from stackferry.agent.errors import AgentError, FailedPrecondition
from stackferry.agent.files import rsync_argv
from stackferry.agent.process_pipes import enlarge_pipe

SHIM = str(Path(__file__).with_name("shim.py"))
HANDOVER_TIMEOUT = 30.0  # rsync starts its remote shell at once; this is a dead rsync


def shim_argv(fd: int) -> list[str]:
    """The -e command: this interpreter without site (fast start), the shim, the fd."""
    argv = [sys.executable, "-S", SHIM, str(fd)]
    if any(" " in a or "\t" in a for a in argv):
        raise FailedPrecondition(f"the shim's path must not contain blanks: {argv!r}")
    return argv


class RsyncClient:
    """A running rsync client whose remote end is this agent: ``output`` is the fd to read
    what rsync sends, ``input`` the fd to write what the remote answers."""

    def __init__(self, source_dir: str, checksum: bool) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._control = mine
        self._lock = threading.Lock()
        self.output = -1
        self.input = -1
        try:
            argv = rsync_argv.client_argv(source_dir, shim_argv(theirs.fileno()), checksum)
            self.process = agent_exec.spawn(argv, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        try:
            command = self._receive_pipes()
        except BaseException:
            self.kill()
            self.release()
            raise
        expected = rsync_argv.expected_remote_command(checksum)
        if command != expected:
            self.kill()
            self.release()
            raise FailedPrecondition(
                f"this rsync asks its remote end for {' '.join(command)!r}, not the "
                f"{' '.join(expected)!r} the receiving agent runs: install rsync 3.x"
            )

    def _receive_pipes(self) -> list[str]:
        deadline = time.monotonic() + HANDOVER_TIMEOUT
        self._control.settimeout(0.2)
        fds = array.array("i")
        while True:
            try:
                data, ancdata, _, _ = self._control.recvmsg(65536, socket.CMSG_SPACE(8))
                break
            except TimeoutError:
                if self.process.popen.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise AgentError(
                        f"rsync did not start its transfer: {self.process.stderr or 'no output'}"
                    ) from None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise AgentError("the rsync shim did not hand over its pipes")
        self.output, self.input = fds[0], fds[1]
        for fd in fds:  # up to 1 MiB waits in a pipe: fewer, larger stream messages
            enlarge_pipe(fd)
        self._control.settimeout(None)
        return data.decode(errors="replace").split("\0")

    def close_input(self) -> None:
        """EOF for rsync's reads from the remote (from any thread, once)."""
        with self._lock:
            fd, self.input = self.input, -1
        if fd >= 0:
            os.close(fd)

    def end_remote(self, status: int) -> None:
        """Lets the shim exit with ``status`` (what rsync takes for the remote's exit)."""
        with contextlib.suppress(OSError):
            self._control.send(bytes([status & 0xFF]))
        self._control.close()

    def finish(self, timeout: float | None = None) -> None:
        """Waits for rsync; raises CommandFailed (with its stderr) on a non-zero exit."""
        self.process.finish(timeout)

    def kill(self) -> None:
        """Ends rsync (safe from any thread, and twice); its output then reads EOF."""
        self.close_input()
        self.end_remote(12)
        self.process.kill(grace=2.0)

    def release(self) -> None:
        """Closes the output fd, once no thread reads it any more."""
        self.close_input()
        if self.output >= 0:
            os.close(self.output)
            self.output = -1
