"""Compose stacks on this host: inspect one, stop / start it (quiesce, rollback), check and run
a deploy of a translated compose project. Built on the ContainerRuntime and the StorageBackend;
no grpc here."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from stackferry.agent.errors import (
    AlreadyExists,
    CommandFailed,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from stackferry.agent.inventory import Inventory
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.stack_deploy import FileWrites, wait_until_ready
from stackferry.agent.stack_precreate import clear_pre_created
from stackferry.agent.stack_project import (
    StackFiles,
    compose_check,
    load_stack_project,
    project_files,
    stack_files,
    started_with,
)
from stackferry.agent.stack_start import PreCreated, start_created
from stackferry.agent.stack_stop import stop_project
from stackferry.agent.stack_target import (
    DeployTarget,
    compose_dir_conflict,
    deploy_target,
    overwritten,
    port_is_free,
    scratch_copy,
)
from stackferry.agent.storage.base import StorageBackend
from stackferry.compose import ComposeFile, normalise_project_name
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

DEFAULT_WAIT_SECONDS = 120
DOWN_AFTER_FAILURE = 120  # seconds for the compose down that undoes a failed deploy
LOG_LINES = 50
ERROR_LINES = 20  # compose v1 ends a failure with a Python traceback
_RUNNING = frozenset({"running", "restarting", "paused"})
_PRESENT = frozenset({"running", "restarting", "paused", "exited", "created"})


class StackService:
    def __init__(self, roots: Roots, storage: StorageBackend, runtime: ContainerRuntime) -> None:
        self.roots = roots
        self.storage = storage
        self.runtime = runtime
        self.pre_created = PreCreated()  # what the deploy after a pre-create may start itself

    def _project(
        self,
        compose_path: str,
        project_name: str,
        compose_files: Sequence[str],
        env_files: Sequence[str],
        states: frozenset[str] = _RUNNING,
    ) -> tuple[StackFiles, LoadedProject]:
        """The project as compose runs it here, with the profiles of every service whose
        containers are in `states` enabled: a `--profile x` given on the command line that
        started them shows in no file, and they are part of the stack."""
        found = stack_files(
            self.roots, self.runtime, compose_path, project_name, compose_files, env_files
        )
        project = load_stack_project(found.files, project_name)
        containers = self.runtime.project_containers(project.project.name)
        live = {c.service for c in containers if c.state in states}
        missing = {
            profile
            for name, info in project.services.items()
            if name in live and not info.active
            for profile in info.profiles
        }
        if not missing:
            return found, project
        profiles = tuple(sorted(set(project.project.profiles) | missing))
        found = replace(found, files=replace(found.files, profiles=profiles))
        return found, load_stack_project(found.files, project_name)

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

    def inspect(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackInfo:
        found, project = self._project(compose_path, project_name, compose_files, env_files)
        self.runtime.ping()
        name, model = project.project.name, project.model
        mounts = Inventory(self.roots, self.storage, self.runtime).mounts(model)
        check_ok, check = compose_check(self.runtime, project, found.files)
        carried = project_files(project, self.roots)
        running = {c.service for c in self.runtime.project_containers(name) if c.state in _RUNNING}
        env_path = Path(project.project.project_dir) / ".env"
        return StackInfo(
            project_name=name,
            project_dir=project.project.project_dir,
            compose_path=found.files.main,
            compose_text=project.texts[found.files.main],
            env_text=_read_or_empty(env_path),
            env_exists=env_path.is_file(),
            services=_without_idle_profiles(self.status(_every_service(project)), project),
            images=tuple(self.runtime.image_states(model.images)),
            mounts=tuple(mounts),
            datasets=tuple(sorted({m.dataset for m in mounts if m.on_zfs})),
            compose_files=found.files.files,
            profiles=project.project.profiles,
            required_features=tuple(sorted(project.required_features)),
            compose_check=check,
            compose_check_failed=not check_ok,
            started_with=started_with(self.runtime.project_labels(name)),
            env_files=project.project.env_files,
            project_files=carried,
            discovered_from=found.discovered_from,
            running_services=tuple(s for s in project.start_order() if s in running),
        )

    # Stop and start answer the services only: the mount inventory walks every tree, and a
    # stop is downtime.
    def stop(
        self,
        compose_path: str,
        project_name: str,
        timeout: int,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackStatus:
        main = compose_files[0] if compose_files else compose_path
        if not Path(self.roots.check_path(main)).is_file():
            return self._stop_by_label(main, project_name, timeout)
        _, project = self._project(compose_path, project_name, compose_files, env_files)
        self.runtime.ping()
        name = project.project.name
        seconds, stops = stop_project(self.runtime, name, project.stop_order(), timeout or None)
        return StackStatus(name, self.status(_every_service(project)), seconds, stops)

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

    def start(
        self,
        compose_path: str,
        project_name: str,
        timeout: int,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> StackStatus:
        """Every service with a container (stopped by the quiesce) is started again, or only
        `services` (those that ran before the migration: one stopped then stays stopped)."""
        found, project = self._project(
            compose_path, project_name, compose_files, env_files, _PRESENT
        )
        unknown = sorted(s for s in services if s not in project.services or s.startswith("-"))
        if unknown:
            raise InvalidArgument(f"services not in the compose project: {', '.join(unknown)}")
        self.runtime.ping()
        name = project.project.name
        order = tuple(s for s in project.start_order() if s in services)
        self.runtime.compose_start(name, found.files, timeout or DEFAULT_WAIT_SECONDS, order)
        return StackStatus(name, self.status(_every_service(project)))

    def check_deploy(self, request: DeployRequest, own: Sequence[str] = ()) -> DeployChecks:
        """`own`: the paths this migration made here (a carried file may replace its bytes)."""
        target = deploy_target(self.roots, request)
        refused = (*target.refused, *overwritten(self.roots, request, own))
        self.runtime.ping()
        info = self.runtime.info()
        conflict = compose_dir_conflict(target, request.compose_text)
        model = target.project.model
        missing = self.runtime.missing_images(model.images)
        taken = [p for p in model.ports if not port_is_free(p)]
        files_ok = f"{len(target.writes)} files can be written"
        checks = (
            DeployCheck(
                "compose_cli", True, f"{info['compose_variant']} {info['compose_version']}"
            ),
            self._compose_file_check(target, info["compose_variant"]),
            DeployCheck(
                "compose_dir", not conflict, conflict or f"{target.compose_path} can be written"
            ),
            *(
                [DeployCheck("project_files", False, why) for why in refused]
                or [DeployCheck("project_files", True, files_ok)]
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

    def _compose_file_check(self, target: DeployTarget, variant: str) -> DeployCheck:
        """The compose CLI's own verdict on the whole project, from a scratch copy of every
        file the deploy writes (with the .env it keeps)."""
        with tempfile.TemporaryDirectory(prefix="sf-check-") as scratch:
            files = scratch_copy(target, Path(scratch))
            try:
                self.runtime.compose_validate(target.name, files)
            except CommandFailed as exc:
                return DeployCheck("compose_file", False, f"{variant} refuses it: {exc.stderr}")
            except InvalidArgument as exc:
                return DeployCheck("compose_file", False, str(exc))
        return DeployCheck("compose_file", True, f"valid for {variant}")

    def deploy(self, request: DeployRequest, own_containers: bool = False) -> DeployResult:
        """Mounts, writes, `up -d`, waits. A failure is an outcome (ok=False, error, logs)
        after undoing what this deploy did: compose down, files restored; datasets kept.
        `own_containers`: the project's containers here are this migration's own (its
        journaled pre-create or an earlier try), taken down with it; else a failure leaves
        containers that were there before it alone."""
        target = deploy_target(self.roots, request)
        if target.refused:
            raise PermissionDenied("cannot write: " + "; ".join(target.refused))
        self.runtime.ping()
        conflict = compose_dir_conflict(target, request.compose_text)
        if conflict:
            raise AlreadyExists(conflict)
        if not request.create_only:  # the files a pre-create wrote into a mount point
            written = [(w.path, w.content) for w in target.writes]
            clear_pre_created((mountpoint for _, mountpoint in target.mounts), written)
        for dataset, mountpoint in target.mounts:
            self.storage.mount(dataset, mountpoint)
        target.compose_path.parent.mkdir(parents=True, exist_ok=True)
        writes = FileWrites()
        try:
            for write in target.writes:
                writes.write_bytes(write.path, write.content, write.mode, write.owner)
            if request.create_only:
                outcome = self._create(target, request.wait_timeout_seconds, own_containers)
            else:
                made = self.pre_created.take(request)
                outcome = self._up_and_wait(
                    target, request.wait_timeout_seconds, own_containers, made
                )
        except BaseException:
            writes.undo()
            raise
        if not outcome.ok:
            writes.undo()
        elif request.create_only:
            made_ids = [c.id for c in self.runtime.project_containers(target.name)]
            self.pre_created.remember(request, made_ids)
        return outcome

    def _create(self, target: DeployTarget, wait_timeout: int, own: bool) -> DeployResult:
        """The containers created, none started (issue 12's pre-create): a later deploy of
        the same request starts them. A failure takes down what this call created."""
        project, compose_file = target.name, str(target.compose_path)
        already_there = not own and bool(self.runtime.project_containers(project))
        started = time.monotonic()
        every = _every_service(target.project)
        try:
            self.runtime.compose_create(
                project, target.files, wait_timeout or DEFAULT_WAIT_SECONDS, target.up_services
            )
        except (CommandFailed, DeadlineExceeded) as exc:
            output = getattr(exc, "stderr", "") or str(exc)
            error = "compose up --no-start failed: " + "\n".join(output.splitlines()[-ERROR_LINES:])
            statuses = self.status(every)
            if not already_there:
                self.runtime.compose_down(project, target.files, DOWN_AFTER_FAILURE)
            return DeployResult(False, statuses, compose_file, error)
        return DeployResult(
            True, self.status(every), compose_file, up_seconds=time.monotonic() - started
        )

    def _up_and_wait(
        self,
        target: DeployTarget,
        wait_timeout: int,
        own: bool,
        made: frozenset[str] | None = None,
    ) -> DeployResult:
        """`made`: the containers this very request's pre-create made; started through the
        engine when that is what `up -d` would do (agent/stack_start.py)."""
        project, compose_file = target.name, str(target.compose_path)
        every = _every_service(target.project)
        already_running = not own and bool(self.runtime.project_containers(project))
        timeout = wait_timeout or DEFAULT_WAIT_SECONDS
        failing: Sequence[ContainerInfo]
        up_started = time.monotonic()
        try:
            # One bound for up and the wait together: the controller's deadline exceeds it
            # (wait_timeout + the compose down of a failed deploy, DOWN_AFTER_FAILURE).
            by_engine = (
                made is not None
                and own
                and start_created(self.runtime, target.project, target.services, made)
            )
            if not by_engine:
                self.runtime.compose_up(project, target.files, timeout, target.up_services)
        except (CommandFailed, DeadlineExceeded) as exc:
            output = getattr(exc, "stderr", "") or str(exc)
            error = "compose up failed: " + "\n".join(output.splitlines()[-ERROR_LINES:])
            failing = [c for c in self.runtime.project_containers(project) if c.state != "running"]
        else:
            # The services `up` started (a service in a profile that is not active is not,
            # and one not listed neither): only they are waited for.
            up_seconds = time.monotonic() - up_started
            left = max(1.0, timeout - up_seconds)
            waited = wait_until_ready(self.runtime, project, target.services, left)
            if waited.ok:
                return DeployResult(
                    True,
                    self.status(every),
                    compose_file,
                    up_seconds=up_seconds,
                    ready_seconds=waited.ready_seconds,
                    settle_seconds=waited.settle_seconds,
                    started_created=by_engine,
                )
            error, failing = waited.error, waited.failing
        logs = {c.name: self.runtime.container_logs(c.id, LOG_LINES) for c in failing}
        statuses = self.status(every)
        if not already_running:
            self.runtime.compose_down(project, target.files, DOWN_AFTER_FAILURE)
        return DeployResult(False, statuses, compose_file, error, logs)


def _without_idle_profiles(
    services: tuple[ServiceInfo, ...], project: LoadedProject
) -> tuple[ServiceInfo, ...]:
    """A service whose profiles are all inactive, and that has no container, is not part of
    the stack compose runs: not reported (so neither verified nor expected on the target)."""
    active = set(project.active_services)
    return tuple(s for s in services if s.name in active or s.containers)


def _every_service(project: LoadedProject) -> ComposeFile:
    """The project with every service, active or not (the status lists them all)."""
    model = project.model
    return ComposeFile(model.project_name, model.project_dir, project.all_services, model.volumes)


def _read_or_empty(path: Path) -> str:
    return path.read_text() if path.is_file() else ""
