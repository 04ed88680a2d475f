"""An in-process controller for the CLI when no --controller address is given.

It is the same service the daemon runs, on the embedded SQLite default, behind a real gRPC
server on a private unix socket: the CLI stays a thin client of the API either way.

A CLI can be killed at any moment, also after the source stack was stopped. So every embedded
controller that opens a state directory first takes up the migrations a dead CLI left there
(`resume`), and the CLI does not exit while one of them is still driven. A dead CLI is told
from a live one (in another terminal) by an flock: each embedded controller holds one on
`<state_dir>/owners/<owner id>.lock`, and the kernel drops it when the process dies, however
it died; its store lease, which would only expire after `lease_seconds`, is then released at
once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import structlog

from stackferry.controller.config import ControllerConfig
from stackferry.controller.domain.model import Migration
from stackferry.controller.errors import LeaseHeld
from stackferry.controller.server import ControllerServer
from stackferry.controller.service import UNFINISHED_STATES, ControllerService
from stackferry.controller.socket_dir import make_socket_dir
from stackferry.controller.wiring import build_service

log = structlog.get_logger(__name__)

# How often a running command looks for migrations whose CLI died meanwhile.
TAKE_OVER_INTERVAL = 1.0
StackKey = tuple[str, str]  # (source agent, compose path): what one migration at a time moves


def stack_key(migration: Migration) -> StackKey:
    return migration.spec.source_agent, migration.spec.stack


class OwnerLocks:
    """Liveness of the embedded controllers of one state directory, by owner id."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "owners"

    def hold(self, owner: str) -> int:
        """Takes the lock that says `owner` lives; it lasts as long as the returned fd."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / f"{owner}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd

    def release(self, owner: str, fd: int) -> None:
        (self.directory / f"{owner}.lock").unlink(missing_ok=True)
        os.close(fd)

    def is_dead(self, owner: str) -> bool:
        """True only for an embedded controller of this directory whose process is gone; an
        owner without a lock file here (a daemon, another host) is never called dead."""
        path = self.directory / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # also drops the lock we may just have taken
        # The file stays (empty): the dead owner may hold other leases, which must be
        # recognised as free as well, by this controller or the next one.
        return True


class EmbeddedController:
    """Context manager: starts service and server on enter, stops both on exit.

    `config` carries the state directory and the credentials used to dial agents; the API
    itself is served in plaintext on a unix socket inside a fresh 0700 directory. With
    `resume`, interrupted migrations are taken up on enter (each is passed to `on_resume`),
    and with `keep_taking_over` also whenever their CLI dies while this one runs. Migrations of
    `skip_stack` are left alone: a second `migrate` of a stack must change nothing.
    """

    def __init__(
        self,
        config: ControllerConfig,
        resume: bool = False,
        keep_taking_over: bool = False,
        on_resume: Callable[[Migration], None] | None = None,
        skip_stack: StackKey | None = None,
    ) -> None:
        owner = (
            config.owner_id or f"cli:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.config = dataclasses.replace(config, owner_id=owner)
        self.resume = resume
        self.keep_taking_over = keep_taking_over
        self.on_resume = on_resume
        self.skip_stack = skip_stack
        self.address = ""
        self.resumed: list[Migration] = []
        self._locks = OwnerLocks(Path(self.config.resolved_state_dir))
        self._lock_fd: int | None = None
        self._closing = threading.Event()
        self._taker: threading.Thread | None = None
        self._socket_dir: Path | None = None
        self._service: ControllerService | None = None
        self._server: ControllerServer | None = None

    @property
    def service(self) -> ControllerService:
        assert self._service is not None, "used outside its with block"
        return self._service

    def __enter__(self) -> EmbeddedController:
        self._socket_dir = make_socket_dir()
        self._service = build_service(self.config)
        try:
            self._lock_fd = self._locks.hold(self.config.owner_id)
            if self.resume:
                self.take_over()
            if self.keep_taking_over:
                self._taker = threading.Thread(
                    target=self._take_over_loop, name="stackferry-take-over", daemon=True
                )
                self._taker.start()
            api_config = ControllerConfig(
                listen=f"unix:{self._socket_dir / 'controller.sock'}", insecure=True
            )
            self._server = ControllerServer(api_config, self._service)
        except BaseException:
            self._close()
            raise
        self.address = self._server.address
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def take_over(self) -> list[Migration]:
        """Drives every unfinished migration with an action owed whose driver is gone (its
        lease free, expired, or held by a dead CLI); returns those it took up now."""
        taken: list[Migration] = []
        for migration in self._unfinished():
            if self.service.is_driving(migration.id):
                continue
            try:
                self._start(migration)
            except LeaseHeld:
                continue  # a live controller drives it
            log.info("resuming migration", migration_id=migration.id, state=migration.state.value)
            taken.append(migration)
            self.resumed.append(migration)
            if self.on_resume is not None:
                self.on_resume(migration)
        return taken

    def interrupted(self) -> list[Migration]:
        """Unfinished migrations with an action owed that no live controller drives (nothing
        is taken: a free lease is given back at once)."""
        found = []
        for migration in self._unfinished():
            store, owner = self.service.store, self.config.owner_id
            try:
                store.acquire_lease(migration.id, owner, self.config.lease_seconds)
            except LeaseHeld as held:
                if self._locks.is_dead(held.owner):
                    found.append(migration)
                continue
            store.release_lease(migration.id, owner)
            found.append(migration)
        return found

    def driving(self) -> list[str]:
        """Ids of the migrations this controller drives now."""
        return [m.id for m in self.resumed if self.service.is_driving(m.id)]

    def _start(self, migration: Migration) -> None:
        try:
            self.service.start(migration.id)
        except LeaseHeld as held:
            if not self._locks.is_dead(held.owner):
                raise
            self.service.store.release_lease(migration.id, held.owner)
            self.service.start(migration.id)

    def _unfinished(self) -> list[Migration]:
        found: list[Migration] = []
        token = ""
        while True:
            page, token = self.service.list(UNFINISHED_STATES, 200, token)
            found += [
                m for m in page if m.pending_action is not None and stack_key(m) != self.skip_stack
            ]
            if not token:
                return found

    def _take_over_loop(self) -> None:
        while not self._closing.wait(TAKE_OVER_INTERVAL):
            try:
                self.take_over()
            except Exception:  # the store may be briefly busy; try again next round
                log.exception("take-over round failed")

    def _close(self) -> None:
        self._closing.set()
        if self._taker is not None:
            self._taker.join(timeout=10)
        if self._server is not None:
            self._server.stop(grace=1)
        if self._service is not None:
            self._service.shutdown()
        if self._lock_fd is not None:
            self._locks.release(self.config.owner_id, self._lock_fd)
            self._lock_fd = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
