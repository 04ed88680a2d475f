"""The only module that starts subprocesses: argv lists, never a shell, stderr kept apart.

``run`` is for short commands (zfs list, zfs snapshot, docker compose ...); ``spawn``
is for the long-lived pipes of a transfer (zfs send / zfs receive), whose caller
owns the process and must ``finish`` or ``kill`` it.

No child outlives the agent. Each runs in its own process group (its own session) with
PR_SET_PDEATHSIG(SIGKILL), so the kernel kills it when the agent dies, even by SIGKILL: a
`docker-compose up` that survived a killed agent once started a stack on a host whose
migration had already been rolled back. The death signal is set by util-linux's `setpriv
--pdeathsig KILL`, exec'd in the child in front of the command: a Python preexec_fn would
run interpreter code between fork and exec in this many-threaded process (gRPC's threads
hold locks across fork), which is not async-signal-safe. The death signal follows the
*thread* that started the child, so children are started from threads that live as long
as the agent (the main thread, the gRPC worker pool). An orderly exit ends the groups still
running (``end_children``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from stackferry.agent.errors import CommandFailed, DeadlineExceeded, NotFound

log = structlog.get_logger(__name__)

# util-linux is essential on Debian; without it children still get their own group.
SETPRIV = shutil.which("setpriv")


def _with_death_signal(argv: list[str], env: Mapping[str, str] | None) -> list[str]:
    """argv behind `setpriv --pdeathsig KILL`; the command is looked up first, so a missing
    one is NotFound (not setpriv's exit 127)."""
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(argv[0], path=path)
    if found is None:
        raise NotFound(f"command not found: {argv[0]}")
    if SETPRIV is None:
        return [found, *argv[1:]]
    return [SETPRIV, "--pdeathsig", "KILL", "--", found, *argv[1:]]


class _Children:
    """The process groups this agent started that have not been reaped yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, list[str]] = {}

    def add(self, pid: int, argv: list[str]) -> None:
        with self._lock:
            self._groups[pid] = argv

    def discard(self, pid: int) -> None:
        with self._lock:
            self._groups.pop(pid, None)

    def snapshot(self) -> dict[int, list[str]]:
        with self._lock:
            return dict(self._groups)


_children = _Children()


def _signal_group(pgid: int, sig: int) -> bool:
    """False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def end_children(grace: float = 5.0) -> list[list[str]]:
    """SIGTERM to every process group still running, SIGKILL to those left after ``grace``
    seconds; returns the argv of each group that had to be ended (for the exit log)."""
    groups = _children.snapshot()
    alive = {pid: argv for pid, argv in groups.items() if _signal_group(pid, signal.SIGTERM)}
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {pid: argv for pid, argv in alive.items() if _signal_group(pid, 0)}
    for pid in alive:
        _signal_group(pid, signal.SIGKILL)
    return list(groups.values())


def _popen(
    argv: list[str], env: Mapping[str, str] | None, **kwargs: object
) -> subprocess.Popen[bytes]:
    """Every child: its own session and process group, killed with the agent."""
    full_env = None if env is None else {**os.environ, **env}
    try:
        popen = subprocess.Popen(  # type: ignore[call-overload]
            _with_death_signal(argv, full_env), start_new_session=True, env=full_env, **kwargs
        )
    except FileNotFoundError as exc:
        raise NotFound(f"command not found: {argv[0]}") from exc
    _children.add(popen.pid, argv)
    return popen  # type: ignore[no-any-return]


def _reaped(popen: subprocess.Popen[bytes]) -> None:
    if popen.returncode is not None:
        _children.discard(popen.pid)


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
    proc = _popen(
        argv,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    try:
        stdout, stderr = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _signal_group(proc.pid, signal.SIGKILL)  # the whole group, not only the child
        proc.communicate()
        raise DeadlineExceeded(f"{' '.join(argv[:3])} took longer than {timeout} s") from exc
    except BaseException:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        _reaped(proc)
    result = Result(
        argv, proc.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace")
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
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.argv = _check_argv(argv)
        log.debug("spawn", argv=self.argv)
        self.popen = _popen(
            self.argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            bufsize=0,
            pass_fds=tuple(pass_fds),
        )
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
        _reaped(self.popen)
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
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        _reaped(self.popen)
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
    pass_fds: Sequence[int] = (),
) -> Process:
    """pass_fds: descriptors the child inherits (the file mover's shim socket)."""
    return Process(argv, stdin=stdin, stdout=stdout, env=env, pass_fds=pass_fds)
