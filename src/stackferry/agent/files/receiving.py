"""One pass on the receiving agent: the stream from the sender <-> its rsync --server.

A thread writes what the sender's rsync sends into rsync's stdin; the RPC's own thread
reads what rsync answers. The pass ends with FileEnd only when rsync exited 0 and the
sender did not report a failure; anything else (a cut stream, a cancel, a failed rsync)
kills rsync, which moves a half-written file into its partial directory, and removes those.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable

from stackferry.agent import exec as agent_exec
from stackferry.agent.errors import AgentError, Cancelled, ResourceExhausted
from stackferry.agent.files.errors import rsync_failed
from stackferry.agent.files.ports import FileEnd
from stackferry.agent.files.trees import remove_partials
from stackferry.agent.process_pipes import enlarge_pipe

READ_SIZE = 1 << 20
ABORT_GRACE = 5.0  # rsync, given EOF, parks its partial file and exits


class ReceivingPass:
    def __init__(self, server: agent_exec.Process, target_dir: str) -> None:
        self.server = server
        self.target_dir = target_dir
        self._sender_error = ""
        self._aborted = threading.Event()
        self._lock = threading.Lock()
        self._done = False
        self.received = 0  # bytes of the sender's rsync protocol written to this rsync
        assert server.popen.stdin is not None and server.popen.stdout is not None
        self._stdin = server.popen.stdin
        self._stdout = server.popen.stdout
        for pipe in (self._stdin, self._stdout):  # fewer, larger stream messages
            enlarge_pipe(pipe.fileno())

    def run(
        self, incoming: Iterable[memoryview | bytes | FileEnd]
    ) -> Generator[bytes | FileEnd, None, None]:
        writer = threading.Thread(
            target=self._write, args=(incoming,), name="files-in", daemon=True
        )
        writer.start()
        try:
            while data := self._read():
                yield data
            # No wait for the writer: it ends when the sender half-closes, and the sender
            # does so only once it has this pass's end.
            returncode = self.server.wait()
            failure = rsync_failed("receiving agent", returncode, self.server.stderr)
            if returncode != 0 and isinstance(failure, ResourceExhausted):
                raise failure  # the cause of the sender's hang-up, if there was one
            if self._aborted.is_set():
                raise Cancelled("the file pass was cut before its end")
            if self._sender_error:
                raise AgentError(f"the sender failed, the pass is incomplete: {self._sender_error}")
            if returncode != 0:
                raise failure
            with self._lock:
                self._done = True
            yield FileEnd(0)
        finally:
            self.abort()

    def _read(self) -> bytes:
        try:
            return self._stdout.read(READ_SIZE) or b""
        except (OSError, ValueError):  # ValueError: abort closed the pipe
            return b""

    def _write(self, incoming: Iterable[memoryview | bytes | FileEnd]) -> None:
        try:
            for item in incoming:
                if isinstance(item, FileEnd):
                    self._sender_error = item.error or f"exit status {item.exit_code}"
                    self.abort()
                    return
                view = memoryview(item)
                while view:
                    view = view[self._stdin.write(view) or 0 :]
                self.received += len(item)
            self._stdin.close()  # the sender is done: rsync, finished or not, sees EOF
        except Cancelled:
            self._aborted.set()
            self.abort()
        except (OSError, ValueError):
            pass  # rsync is gone: its exit status says why

    def abort(self) -> None:
        """Kills rsync unless the pass completed, and removes what it parked. Idempotent,
        callable from any thread (the RPC's cancellation callback)."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self.server.kill(grace=ABORT_GRACE)
        remove_partials(self.target_dir)
