"""The agent's side of "one migration at a time, and never someone else's data": claims checked
before every mutating operation, and deploys journaled so a restart can take down one that
never committed (agent/claims.py, agent/journal.py, agent/cleanup.py). AgentService calls
this; no grpc here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from stackferry.agent.claims import ClaimBook, Wanted, validate_migration_id
from stackferry.agent.cleanup import Cleanup
from stackferry.agent.errors import AgentError, AlreadyExists, InvalidArgument
from stackferry.agent.journal import Journal
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.stack_deploy import journal_writes
from stackferry.agent.stack_target import deploy_target, overwritten
from stackferry.compose import normalise_project_name
from stackferry.hostapi import Claim, ClaimGrant, DeployRequest, DeployResult

DEFAULT_COMPOSE_FILENAME = "docker-compose.yml"
_CONTENT_NOT_READ = frozenset({"secret", "config"})  # by compose itself: mounted as they are
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def checked_migration_id(migration_id: str) -> str:
    """ "" (a call outside any migration) or a valid id."""
    return validate_migration_id(migration_id) if migration_id else ""


class Fencing:
    def __init__(
        self,
        roots: Roots,
        claims: ClaimBook,
        journal: Journal,
        cleanup: Cleanup,
        runtime: ContainerRuntime,
    ) -> None:
        self.roots = roots
        self.claims = claims
        self.journal = journal
        self.cleanup = cleanup
        self.runtime = runtime

    def claim(self, migration_id: str, claim: Claim) -> ClaimGrant:
        for volume in claim.volumes:
            if not _VOLUME_NAME.match(volume):
                raise InvalidArgument(f"invalid volume name {volume!r}")
        wanted = Wanted(
            projects=(_project(claim.project_name),) if claim.project_name else (),
            compose_paths=(self.roots.check_path(claim.compose_path),)
            if claim.compose_path
            else (),
            datasets=tuple(self.roots.check_dataset(d) for d in claim.datasets),
            paths=tuple(self.roots.check_path(p) for p in claim.paths),
            volumes=tuple(claim.volumes),
        )
        return self.claims.claim(migration_id, claim, wanted)

    def check_stack(self, migration_id: str, compose_path: str, project_name: str) -> None:
        """Stop / start of a project another migration claimed is refused."""
        wanted = Wanted(
            projects=(_project(project_name),) if project_name else (),
            compose_paths=(self.roots.check_path(compose_path),),
        )
        self.claims.check(checked_migration_id(migration_id), wanted)

    def stack_lock(self, compose_path: str, project_name: str) -> AbstractContextManager[None]:
        """The project's lock (agent/project_locks.py), as compose names the project."""
        project = project_name or Path(self.roots.check_path(compose_path)).parent.name
        return self.cleanup.locks.held(_project(project))

    def check_datasets(self, migration_id: str, datasets: tuple[str, ...]) -> None:
        self.claims.check(checked_migration_id(migration_id), Wanted(datasets=datasets))

    def check(self, migration_id: str, wanted: Wanted) -> None:
        """For any other mutating call (the file mover's paths and volumes)."""
        self.claims.check(checked_migration_id(migration_id), wanted)

    def deploy(
        self, request: DeployRequest, run: Callable[[DeployRequest, bool], DeployResult]
    ) -> DeployResult:
        """Runs the deploy (``run``) after the claim check; with a migration id, journals it
        "started" before `compose up` and records what it creates (compose dir, files)."""
        migration_id = checked_migration_id(request.migration_id)
        compose_dir = Path(self.roots.check_path(request.compose_dir))
        project = _project(request.project_name or compose_dir.name)
        with self.cleanup.locks.held(project):
            return self._deploy(request, run, migration_id, compose_dir, project)

    def _deploy(
        self,
        request: DeployRequest,
        run: Callable[[DeployRequest, bool], DeployResult],
        migration_id: str,
        compose_dir: Path,
        project: str,
    ) -> DeployResult:
        compose_path = compose_dir / (request.compose_filename or DEFAULT_COMPOSE_FILENAME)
        wanted = Wanted(
            projects=(project,),
            paths=(str(compose_dir),),
            datasets=tuple(self.roots.check_dataset(d) for d, _ in request.mounts),
        )
        self.claims.check(migration_id, wanted)
        clobbered = overwritten(self.roots, request, self.own_paths(request))
        if clobbered:
            raise AlreadyExists("will not overwrite: " + "; ".join(clobbered))
        if not migration_id:
            return run(request, False)
        before = self.journal.deploy_of(migration_id)
        if before is None and self.runtime.project_containers(project):
            # Journaled deploys are taken down on restart: only ever one this migration made.
            raise AlreadyExists(
                f"project {project!r} already has containers on this host, not deployed by "
                f"migration {migration_id}"
            )
        if before is not None and before.state == "committed":
            # A repeated deploy of a committed migration stays committed (its stack stays).
            return run(request, False)
        self._record_writes(migration_id, compose_dir, compose_path, request.write_env)
        self._record_volumes(migration_id, request)
        journal_writes(self.journal, migration_id, self._carried_paths(request))
        self.journal.deploy_started(
            migration_id,
            project,
            str(compose_path),
            request.compose_text,
            request.compose_files,
            request.env_files,
            request.profiles,
            self._written_texts(request, compose_dir, compose_path),
        )
        # Containers found here now are this migration's own (its pre-create, an earlier
        # try): the check above refused any other. A failed deploy takes them down too.
        result = run(request, before is not None and before.state == "started")
        if not result.ok and not self.runtime.project_containers(project):
            self.journal.set_deploy_state(migration_id, "removed")  # it took itself down
        return result

    def own_paths(self, request: DeployRequest) -> tuple[str, ...]:
        """What the request's migration made here, by the journal: the mount points of its
        received datasets, the trees and files it wrote (a deploy or pre-create of it)."""
        migration_id = checked_migration_id(request.migration_id)
        created = self.journal.created_by(migration_id) if migration_id else []
        datasets = [c.name for c in created if c.kind == "dataset"]
        paths = [c.name for c in created if c.kind in ("dir", "contents", "file")]
        for dataset, mountpoint in request.mounts:
            if any(dataset == d or dataset.startswith(d + "/") for d in datasets):
                paths.append(os.path.normpath(self.roots.check_path(mountpoint)))
        return tuple(paths)

    def _record_writes(
        self, migration_id: str, compose_dir: Path, compose_path: Path, write_env: bool
    ) -> None:
        """The compose dir the deploy will create (its missing ancestors apart: another
        migration may write below them), else the files it will create."""
        if not compose_dir.exists():
            self.journal.record_new_dir(migration_id, str(compose_dir))
            return
        written = [compose_path, *([compose_dir / ".env"] if write_env else [])]
        for path in written:
            if not path.exists():
                self.journal.record_created(migration_id, "file", str(path))

    def _written_texts(
        self, request: DeployRequest, compose_dir: Path, compose_path: Path
    ) -> dict[str, str]:
        """What `compose down` needs to read the project again once its files are gone:
        the compose and env files' texts; the other carried files only need to exist."""
        texts = {str(compose_path): request.compose_text}
        if request.write_env:
            texts[str(compose_dir / ".env")] = request.env_text
        for carried in request.files:
            if carried.exists:
                text = carried.content.decode("utf-8", "surrogateescape")
                path = os.path.normpath(carried.path)
                texts[path] = "" if carried.kind in _CONTENT_NOT_READ else text
        return texts

    def _record_volumes(self, migration_id: str, request: DeployRequest) -> None:
        """The named volumes compose will create for this deploy (declared, not external, not
        on this engine yet: not one the migration received either), recorded before it makes
        them: `compose down` leaves volumes, so Discard removes them, when no container uses
        them. Without this, a pre-create's empty volumes outlived a cancelled migration."""
        try:
            model = deploy_target(self.roots, request).project.model
        except AgentError:
            return  # the deploy refuses the request, with its reason
        for volume in model.volumes:
            if not volume.external and self.runtime.volume(volume.name) is None:
                self.journal.record_created(migration_id, "volume", volume.name)

    def _carried_paths(self, request: DeployRequest) -> list[Path]:
        """The carried files the deploy will write inside the roots (it refuses the others)."""
        paths = []
        for carried in request.files:
            try:
                paths.append(Path(self.roots.check_path(os.path.normpath(carried.path))))
            except AgentError:
                continue
        return paths


def _project(name: str) -> str:
    project = normalise_project_name(name)
    if not project:
        raise InvalidArgument(f"invalid project name {name!r}")
    return project
