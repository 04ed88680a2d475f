"""One pass on the sending agent: its rsync client's pipes <-> the stream to the receiver.

Two threads move the bytes (up: what rsync sends, paced to the bandwidth limit; down: what
the receiver's rsync answers); the caller's thread reports progress and, at the end, the
outcome. The pass succeeds only if the receiver ended with exit 0 and this rsync exits 0.
"""

from __future__ import annotations

import os
import select
import threading

from stackferry.agent.errors import AgentError, Cancelled, CommandFailed, ResourceExhausted
from stackferry.agent.files.client import RsyncClient
from stackferry.agent.files.errors import VANISHED, from_command
from stackferry.agent.files.ports import FileEnd, FileSyncCall
from stackferry.agent.transfer import Meter

READ_SIZE = 1 << 20
# rsync writes its stream 64 KiB at a time; each gRPC message costs the agents ~0.1 ms of
# CPU, so while rsync streams (a read came back at least STREAMING bytes) the reader waits up
# to BURST_WAIT_MS for more and sends up to READ_SIZE at once. Small reads (the protocol's
# exchanges: file lists, checksums, acknowledgements) go at once.
STREAMING = 32 << 10
BURST_WAIT_MS = 1
FINISH_TIMEOUT = 60.0  # rsync exits at once after the receiver's end; longer is a hang


class SendingPass:
    def __init__(self, client: RsyncClient, call: FileSyncCall, meter: Meter) -> None:
        self.client = client
        self.call = call
        self.meter = meter
        self._errors: list[AgentError] = []
        self._cancelled = threading.Event()
        self._end: FileEnd | None = None
        self.sent = 0  # bytes of this rsync's protocol sent to the receiver
        self._up = threading.Thread(target=self._send_up, name="files-up", daemon=True)
        self._down = threading.Thread(target=self._send_down, name="files-down", daemon=True)

    def start(self) -> None:
        self._up.start()
        self._down.start()

    def wait(self, timeout: float) -> bool:
        self._down.join(timeout)
        return not self._down.is_alive()

    def cancel(self) -> None:
        self._cancelled.set()
        self.call.cancel()
        self.client.kill()

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc if isinstance(exc, AgentError) else AgentError(str(exc)))

    def _read_burst(self, view: memoryview, poller: select.poll) -> int:
        got = os.readv(self.client.output, [view])
        while STREAMING <= got < len(view) and poller.poll(BURST_WAIT_MS):
            more = os.readv(self.client.output, [view[got:]])
            if not more:
                break  # the end: the next read says so
            got += more
        return got

    def _send_up(self) -> None:
        buffer = memoryview(bytearray(READ_SIZE))
        poller = select.poll()
        poller.register(self.client.output, select.POLLIN)
        try:
            while got := self._read_burst(buffer, poller):
                self.meter.add(got)
                self.call.send(buffer[:got])
                self.sent += got
                delay = self.meter.pace()
                if delay > 0 and self._cancelled.wait(delay):
                    return
            self.call.close()
        except BaseException as exc:
            self._fail(exc)
            self.call.close(FileEnd(error=f"the sending agent failed: {exc}"))

    def _send_down(self) -> None:
        responses = self.call.responses()
        try:
            for item in responses:
                if isinstance(item, FileEnd):
                    self._end = item
                    continue
                if not self._to_rsync(item):
                    self.call.cancel()  # rsync is gone: its exit status says why
                    break
                self.meter.add(len(item))
        except BaseException as exc:
            self._fail(exc)
        finally:
            responses.close()
        if self._end is not None and self._end.exit_code == 0 and not self._end.error:
            self.client.close_input()
            self.client.end_remote(0)
        else:
            self.client.kill()

    def _to_rsync(self, data: memoryview | bytes) -> bool:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.client.input, view) :]
        except OSError:
            return False
        return True

    def _cause(self) -> AgentError:
        """Out of space explains the rest (a broken pipe, the peer's cancel); else the first."""
        exhausted = [e for e in self._errors if isinstance(e, ResourceExhausted)]
        return (exhausted or self._errors)[0]

    def result(self) -> None:
        """Raises unless both rsyncs succeeded; releases the pipes either way."""
        try:
            self._down.join()
            try:
                self.client.finish(FINISH_TIMEOUT)
            except CommandFailed as exc:
                if exc.returncode != VANISHED:
                    self._fail(from_command("sending agent", exc))
            self._up.join(FINISH_TIMEOUT)
        finally:
            self.client.kill()
            self._up.join(5)
            self.client.release()
        if self._cancelled.is_set():
            raise Cancelled("the file pass was cancelled")
        if self._errors:
            raise self._cause()
        if self._end is None:
            raise AgentError("the receiving agent ended the file pass without its result")
