"""Compose stacks on this host: inspect one, stop / start it (quiesce, rollback), check and run
a deploy of a translated compose file. Built on the ContainerRuntime and the StorageBackend;
no grpc here."""

from __future__ import annotations

import errno
import re
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stackferry.agent.errors import (
    AlreadyExists,
    CommandFailed,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
)
from stackferry.agent.inventory import Inventory
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.stack_deploy import FileWrites, wait_until_ready
from stackferry.agent.stack_precreate import clear_pre_created
from stackferry.agent.stack_project import compose_check, load_stack_project, started_with
from stackferry.agent.stack_stop import stop_project
from stackferry.agent.storage.base import StorageBackend
from stackferry.compose import (
    ComposeError,
    ComposeFile,
    PortBinding,
    load_compose,
    normalise_project_name,
)
from stackferry.compose.project_files import LoadedProject
from stackferry.hostapi import (
    ContainerInfo,
    DeployCheck,
    DeployChecks,
    DeployRequest,
    DeployResult,
    ServiceInfo,
    StackInfo,
    StackStatus,
)

DEFAULT_COMPOSE_FILENAME = "docker-compose.yml"
DEFAULT_WAIT_SECONDS = 120
DOWN_AFTER_FAILURE = 120  # seconds for the compose down that undoes a failed deploy
LOG_LINES = 50
ERROR_LINES = 20  # compose v1 ends a failure with a Python traceback
_COMPOSE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$")


@dataclass(frozen=True)
class _StackFiles:
    compose: ComposeFile
    path: Path  # resolved inside the allowed roots
    text: str
    env_text: str
    env_exists: bool


@dataclass(frozen=True)
class _DeployTarget:
    """A validated DeployRequest: paths resolved inside the roots, compose parsed."""

    compose: ComposeFile
    compose_path: Path
    env_path: Path
    mounts: tuple[tuple[str, str], ...]


def port_is_free(port: PortBinding) -> bool:
    kind = socket.SOCK_DGRAM if port.protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in port.host_ip else socket.AF_INET
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((port.host_ip, port.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class StackService:
    def __init__(self, roots: Roots, storage: StorageBackend, runtime: ContainerRuntime) -> None:
        self.roots = roots
        self.storage = storage
        self.runtime = runtime

    def _read_stack(self, compose_path: str, project_name: str) -> _StackFiles:
        path = Path(self.roots.check_path(compose_path))
        if not path.is_file():
            raise NotFound(f"no compose file at {compose_path}")
        # The whole project first (extends, include, env files): its errors name file and line.
        load_stack_project(path, project_name)
        env_path = path.parent / ".env"
        text, env_text = path.read_text(), _read_or_empty(env_path)
        explicit = normalise_project_name(project_name) if project_name else ""
        compose = _load_compose(text, env_text, str(path.parent), explicit)
        return _StackFiles(compose, path, text, env_text, env_path.is_file())

    def status(self, compose: ComposeFile) -> tuple[ServiceInfo, ...]:
        containers = self.runtime.project_containers(compose.project_name)
        declared = {s.name for s in compose.services}
        statuses = [
            ServiceInfo(
                s.name,
                s.image,
                tuple(c for c in containers if c.service == s.name),
                tuple(map(str, s.ports)),
            )
            for s in compose.services
        ]
        orphans = sorted({c.service for c in containers} - declared)
        statuses += [
            ServiceInfo(name, "", tuple(c for c in containers if c.service == name))
            for name in orphans
        ]
        return tuple(statuses)

    def inspect(self, compose_path: str, project_name: str = "") -> StackInfo:
        stack = self._read_stack(compose_path, project_name)
        self.runtime.ping()
        mounts = Inventory(self.roots, self.storage, self.runtime).mounts(stack.compose)
        project = load_stack_project(stack.path, project_name)
        check_ok, check = compose_check(self.runtime, project, stack.path)
        return StackInfo(
            project_name=stack.compose.project_name,
            project_dir=stack.compose.project_dir,
            compose_path=str(stack.path),
            compose_text=stack.text,
            env_text=stack.env_text,
            env_exists=stack.env_exists,
            services=_without_idle_profiles(self.status(stack.compose), project),
            images=tuple(self.runtime.image_states(stack.compose.images)),
            mounts=tuple(mounts),
            datasets=tuple(sorted({m.dataset for m in mounts if m.on_zfs})),
            compose_files=project.project.files,
            profiles=project.project.profiles,
            required_features=tuple(sorted(project.required_features)),
            compose_check=check,
            compose_check_failed=not check_ok,
            started_with=started_with(self.runtime.project_labels(project.project.name)),
        )

    # Stop and start answer the services only: the mount inventory walks every tree, and a
    # stop is downtime.
    def stop(self, compose_path: str, project_name: str, timeout: int) -> StackStatus:
        if not Path(self.roots.check_path(compose_path)).is_file():
            return self._stop_by_label(compose_path, project_name, timeout)
        stack = self._read_stack(compose_path, project_name)
        self.runtime.ping()
        project = stack.compose.project_name
        order = load_stack_project(stack.path, project_name).stop_order()
        seconds, stops = stop_project(self.runtime, project, order, timeout or None)
        return StackStatus(project, self.status(stack.compose), seconds, stops)

    def _stop_by_label(self, compose_path: str, project_name: str, timeout: int) -> StackStatus:
        """Without its compose file (a failed deploy removed it) the project's containers may
        still run: they carry its label, and are stopped. NotFound only when there are none."""
        project = normalise_project_name(project_name or Path(compose_path).parent.name)
        self.runtime.ping()
        containers = self.runtime.project_containers(project) if project else []
        if not containers:
            raise NotFound(f"no compose file at {compose_path} and no container of its project")
        self.runtime.disable_restart(project)  # left by a failed deploy: never to come back
        seconds, stops = stop_project(self.runtime, project, (), timeout or None)
        names = sorted({c.service for c in containers})
        services = tuple(
            ServiceInfo(
                name,
                "",
                tuple(c for c in self.runtime.project_containers(project) if c.service == name),
            )
            for name in names
        )
        return StackStatus(project, services, seconds, stops)

    def start(self, compose_path: str, project_name: str, timeout: int) -> StackStatus:
        stack = self._read_stack(compose_path, project_name)
        self.runtime.ping()
        self.runtime.compose_start(
            stack.compose.project_name, str(stack.path), timeout or DEFAULT_WAIT_SECONDS
        )
        return StackStatus(stack.compose.project_name, self.status(stack.compose))

    def _deploy_target(self, request: DeployRequest) -> _DeployTarget:
        filename = request.compose_filename or DEFAULT_COMPOSE_FILENAME
        if not _COMPOSE_FILENAME.match(filename):
            raise InvalidArgument(f"invalid compose file name {filename!r}")
        compose_dir = Path(self.roots.check_path(request.compose_dir))
        if compose_dir.exists() and not compose_dir.is_dir():
            raise InvalidArgument(f"{request.compose_dir} exists and is not a directory")
        mounts = tuple(
            (self.roots.check_dataset(dataset), self.roots.check_path(mountpoint))
            for dataset, mountpoint in request.mounts
        )
        env_path = compose_dir / ".env"
        for written in (compose_dir / filename, env_path):
            self.roots.check_path(str(written))  # a symlink out of the roots is never followed
        env_text = request.env_text if request.write_env else _read_or_empty(env_path)
        compose = _load_compose(
            request.compose_text, env_text, str(compose_dir), request.project_name
        )
        return _DeployTarget(compose, compose_dir / filename, env_path, mounts)

    def _compose_dir_conflict(self, target: _DeployTarget, compose_text: str) -> str:
        """Why the compose file cannot be written there ("" when it can): it holds another
        project's compose file. The same text, or the same project, may be deployed again."""
        existing = _read_or_empty(target.compose_path)
        if not target.compose_path.exists() or existing == compose_text:
            return ""
        try:
            other = _load_compose(
                existing, _read_or_empty(target.env_path), str(target.compose_path.parent)
            ).project_name
        except InvalidArgument:
            other = "an unreadable compose file"
        if other == target.compose.project_name:
            return ""
        return f"{target.compose_path} already holds the compose file of project {other!r}"

    def check_deploy(self, request: DeployRequest) -> DeployChecks:
        target = self._deploy_target(request)
        self.runtime.ping()
        info = self.runtime.info()
        conflict = self._compose_dir_conflict(target, request.compose_text)
        missing = self.runtime.missing_images(target.compose.images)
        taken = [p for p in target.compose.ports if not port_is_free(p)]
        checks = (
            DeployCheck(
                "compose_cli", True, f"{info['compose_variant']} {info['compose_version']}"
            ),
            self._compose_file_check(target, request, info["compose_variant"]),
            DeployCheck(
                "compose_dir", not conflict, conflict or f"{target.compose_path} can be written"
            ),
            DeployCheck(
                "images",
                not missing,
                f"missing: {', '.join(missing)}" if missing else "all present",
            ),
            DeployCheck(
                "ports",
                not taken,
                f"in use: {', '.join(map(str, taken))}" if taken else "all free",
            ),
        )
        return DeployChecks(checks, tuple(missing))

    def _compose_file_check(
        self, target: _DeployTarget, request: DeployRequest, variant: str
    ) -> DeployCheck:
        """The compose CLI's own verdict on the file, from a scratch copy (with its .env)."""
        with tempfile.TemporaryDirectory(prefix="sf-check-") as scratch:
            compose_file = Path(scratch) / target.compose_path.name
            compose_file.write_text(request.compose_text)
            env_text = request.env_text if request.write_env else _read_or_empty(target.env_path)
            (Path(scratch) / ".env").write_text(env_text)
            try:
                self.runtime.compose_validate(target.compose.project_name, str(compose_file))
            except CommandFailed as exc:
                return DeployCheck("compose_file", False, f"{variant} refuses it: {exc.stderr}")
        return DeployCheck("compose_file", True, f"valid for {variant}")

    def deploy(self, request: DeployRequest) -> DeployResult:
        """Mounts, writes, `up -d`, waits. A failure is an outcome (ok=False, error, logs)
        after undoing what this deploy did: compose down, files restored; datasets kept."""
        target = self._deploy_target(request)
        self.runtime.ping()
        conflict = self._compose_dir_conflict(target, request.compose_text)
        if conflict:
            raise AlreadyExists(conflict)
        if not request.create_only:  # the files a pre-create wrote into a mount point
            written = [(target.compose_path, request.compose_text.encode())]
            if request.write_env:
                written.append((target.env_path, request.env_text.encode()))
            clear_pre_created((mountpoint for _, mountpoint in target.mounts), written)
        for dataset, mountpoint in target.mounts:
            self.storage.mount(dataset, mountpoint)
        target.compose_path.parent.mkdir(parents=True, exist_ok=True)
        writes = FileWrites()
        try:
            writes.write(target.compose_path, request.compose_text)
            if request.write_env:
                writes.write(target.env_path, request.env_text)
            if request.create_only:
                outcome = self._create(target, request.wait_timeout_seconds)
            else:
                outcome = self._up_and_wait(target, request.wait_timeout_seconds)
        except BaseException:
            writes.undo()
            raise
        if not outcome.ok:
            writes.undo()
        return outcome

    def _create(self, target: _DeployTarget, wait_timeout: int) -> DeployResult:
        """The containers created, none started (issue 12's pre-create): a later deploy of
        the same request starts them. A failure takes down what this call created."""
        project, compose_file = target.compose.project_name, str(target.compose_path)
        already_there = bool(self.runtime.project_containers(project))
        started = time.monotonic()
        try:
            self.runtime.compose_create(project, compose_file, wait_timeout or DEFAULT_WAIT_SECONDS)
        except (CommandFailed, DeadlineExceeded) as exc:
            output = getattr(exc, "stderr", "") or str(exc)
            error = "compose up --no-start failed: " + "\n".join(output.splitlines()[-ERROR_LINES:])
            statuses = self.status(target.compose)
            if not already_there:
                self.runtime.compose_down(project, compose_file, DOWN_AFTER_FAILURE)
            return DeployResult(False, statuses, compose_file, error)
        return DeployResult(
            True,
            self.status(target.compose),
            compose_file,
            up_seconds=time.monotonic() - started,
        )

    def _up_and_wait(self, target: _DeployTarget, wait_timeout: int) -> DeployResult:
        project, compose_file = target.compose.project_name, str(target.compose_path)
        already_running = bool(self.runtime.project_containers(project))
        timeout = wait_timeout or DEFAULT_WAIT_SECONDS
        failing: Sequence[ContainerInfo]
        up_started = time.monotonic()
        try:
            # One bound for up and the wait together: the controller's deadline exceeds it
            # (wait_timeout + the compose down of a failed deploy, DOWN_AFTER_FAILURE).
            self.runtime.compose_up(project, compose_file, timeout)
        except (CommandFailed, DeadlineExceeded) as exc:
            output = getattr(exc, "stderr", "") or str(exc)
            error = "compose up failed: " + "\n".join(output.splitlines()[-ERROR_LINES:])
            failing = [c for c in self.runtime.project_containers(project) if c.state != "running"]
        else:
            # The services compose started: a service in a profile that is not active (in
            # COMPOSE_PROFILES of the .env) is not, and is not waited for.
            active = load_stack_project(target.compose_path, project).model.services
            services = [s.name for s in active]
            up_seconds = time.monotonic() - up_started
            left = max(1.0, timeout - up_seconds)
            waited = wait_until_ready(self.runtime, project, services, left)
            if waited.ok:
                return DeployResult(
                    True,
                    self.status(target.compose),
                    compose_file,
                    up_seconds=up_seconds,
                    ready_seconds=waited.ready_seconds,
                    settle_seconds=waited.settle_seconds,
                )
            error, failing = waited.error, waited.failing
        logs = {c.name: self.runtime.container_logs(c.id, LOG_LINES) for c in failing}
        statuses = self.status(target.compose)
        if not already_running:
            self.runtime.compose_down(project, compose_file, DOWN_AFTER_FAILURE)
        return DeployResult(False, statuses, compose_file, error, logs)


def _without_idle_profiles(
    services: tuple[ServiceInfo, ...], project: LoadedProject
) -> tuple[ServiceInfo, ...]:
    """A service whose profiles are all inactive, and that has no container, is not part of
    the stack compose runs: not reported (so neither verified nor expected on the target)."""
    active = set(project.active_services)
    return tuple(s for s in services if s.name in active or s.containers)


def _load_compose(text: str, env_text: str, project_dir: str, explicit: str = "") -> ComposeFile:
    """The compose package reads the file as compose would here: `~` is this agent's HOME."""
    try:
        return load_compose(text, env_text, project_dir, explicit, home=str(Path.home()))
    except ComposeError as exc:
        raise InvalidArgument(str(exc)) from exc


def _read_or_empty(path: Path) -> str:
    return path.read_text() if path.is_file() else ""
