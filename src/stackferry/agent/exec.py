"""The only module that starts subprocesses: argv lists, never a shell, stderr kept apart.

``run`` is for short commands (zfs list, zfs snapshot, docker compose ...); ``spawn``
is for the long-lived pipes of a transfer (zfs send / zfs receive), whose caller
owns the process and must ``finish`` or ``kill`` it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from stackferry.agent.errors import CommandFailed, DeadlineExceeded, NotFound

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def _check_argv(argv: Sequence[str]) -> list[str]:
    argv = [str(a) for a in argv]
    if not argv or any("\0" in a for a in argv):
        raise ValueError(f"bad argv: {argv!r}")
    return argv


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    timeout: float | None = 120,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Result:
    """Runs a command to completion; raises CommandFailed on a non-zero exit when ``check``."""
    argv = _check_argv(argv)
    log.debug("exec", argv=argv)
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise NotFound(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise DeadlineExceeded(f"{' '.join(argv[:3])} took longer than {timeout} s") from exc
    result = Result(
        argv,
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, result.stderr)
    return result


class Process:
    """A long-running child with binary pipes; stderr is drained by a thread and kept."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        stdin: bool,
        stdout: bool,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = _check_argv(argv)
        log.debug("spawn", argv=self.argv)
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=None if env is None else {**os.environ, **env},
                bufsize=0,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise NotFound(f"command not found: {self.argv[0]}") from exc
        self._stderr: list[bytes] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            if sum(map(len, self._stderr)) < 64 * 1024:
                self._stderr.append(line)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace").strip()

    def wait(self, timeout: float | None = None) -> int:
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise DeadlineExceeded(f"{self.argv[0]} did not exit in {timeout} s") from exc
        self._drain.join(timeout=5)
        return rc

    def finish(self, timeout: float | None = None) -> None:
        """Closes our pipe ends, waits, and raises CommandFailed on a non-zero exit."""
        self._close_pipes()
        rc = self.wait(timeout)
        if rc != 0:
            raise CommandFailed(self.argv, rc, self.stderr)

    def kill(self, grace: float = 5.0) -> None:
        """Ends the child and reaps it. Safe to call twice.

        Our pipe ends are closed first and the child gets ``grace`` seconds to exit on its
        own: zfs-fuse's daemon, not the zfs CLI, does the I/O on the fd the CLI hands it,
        and SIGKILLing the CLI mid-stream has deadlocked that daemon here. A broken pipe or
        EOF lets it abort cleanly; the process group is SIGKILLed only after the grace.
        """
        self._close_pipes()
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self._drain.join(timeout=5)

    def _close_pipes(self) -> None:
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()


def spawn(
    argv: Sequence[str],
    *,
    stdin: bool = False,
    stdout: bool = False,
    env: Mapping[str, str] | None = None,
) -> Process:
    return Process(argv, stdin=stdin, stdout=stdout, env=env)
