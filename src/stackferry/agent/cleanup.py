"""What the journal (agent/journal.py) is for: taking down deploys whose migration never
committed, answering Release, and Discard, which removes only what a migration made here.

- ``reconcile`` runs when the agent starts, before it serves: every deploy journaled
  "started" (its migration never released it committed) is taken down with `compose down`
  (volumes kept) and recorded "removed". An agent killed mid-deploy therefore never leaves
  a second live copy of a stack behind once it is back.
- ``release`` drops the migration's claims; committed=True records the deploy committed
  if, and only if, it is still in place (deploy_live).
- ``discard`` takes down the migration's uncommitted deploy, then removes what the journal
  says the migration created (datasets first, then volumes, files and directories, newest
  first within each), each only if it still carries the migration's mark: a dataset whose
  own stackferry:migration is this id (or unset: the agent died between the receive and the
  mark) and everything below it marked the same; a volume without another migration's
  label; a directory with no mount point inside; a file. What it keeps it lists with the
  reason. A second Discard finds nothing left to do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import structlog

from stackferry.agent import exec as agent_exec
from stackferry.agent.claims import ClaimBook, validate_migration_id
from stackferry.agent.errors import AgentError, InvalidArgument
from stackferry.agent.files.volumes import MIGRATION_LABEL
from stackferry.agent.journal import Created, DeployEntry, Journal
from stackferry.agent.project_locks import ProjectLocks
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.runtime.compose import ComposeFiles
from stackferry.agent.stack_project import load_stack_project
from stackferry.agent.stack_target import in_scratch
from stackferry.agent.storage.base import StorageBackend
from stackferry.hostapi import DiscardResult, ReleaseResult

log = structlog.get_logger(__name__)

DOWN_TIMEOUT = 120
REMOVAL_ORDER = ("dataset", "volume", "adopted", "file", "dir", "contents", "ancestor")


class Cleanup:
    def __init__(
        self,
        journal: Journal,
        claims: ClaimBook,
        storage: StorageBackend,
        runtime: ContainerRuntime,
        docker_host: str | None = None,
    ) -> None:
        self.journal = journal
        self.claims = claims
        self.storage = storage
        self.runtime = runtime
        self.locks = ProjectLocks()
        self._docker_env = {"DOCKER_HOST": docker_host} if docker_host else {}

    def reconcile(self) -> list[DeployEntry]:
        """Takes down every deploy that was started and never committed; raises (and the
        agent does not start) when one cannot be taken down."""
        taken_down = []
        for entry in self.journal.uncommitted_deploys():
            log.warning(
                "taking down a deploy whose migration never committed",
                migration_id=entry.migration_id,
                project=entry.project_name,
                compose_path=entry.compose_path,
            )
            self._take_down(entry)
            self.journal.set_deploy_state(entry.migration_id, "removed")
            log.info("deploy taken down", migration_id=entry.migration_id)
            taken_down.append(entry)
        return taken_down

    def _take_down(self, entry: DeployEntry) -> None:
        """`compose down` (volumes kept), with the deploy's own files when they are still the
        ones it wrote, else with the journal's copy of the whole file set."""
        path = Path(entry.compose_path)
        listed = _project_files(entry)
        if path.is_file() and path.read_text() == entry.compose_text and _unchanged(entry):
            self.runtime.compose_down(entry.project_name, listed, DOWN_TIMEOUT)
            return
        with tempfile.TemporaryDirectory(prefix="sf-down-") as scratch:
            mirrored = _mirror(entry, listed, Path(scratch))
            self.runtime.compose_down(entry.project_name, mirrored, DOWN_TIMEOUT)

    def _deploy_live(self, entry: DeployEntry | None) -> bool:
        if entry is None or entry.state == "removed":
            return False
        containers = self.runtime.project_containers(entry.project_name)
        return any(c.state == "running" for c in containers)

    def release(self, migration_id: str, committed: bool) -> ReleaseResult:
        validate_migration_id(migration_id)
        entry = self.journal.deploy_of(migration_id)
        live = self._deploy_live(entry)
        if committed and live:
            self.journal.set_deploy_state(migration_id, "committed")
        self.claims.release(migration_id)
        return ReleaseResult(deploy_live=live)

    def discard(self, migration_id: str) -> DiscardResult:
        validate_migration_id(migration_id)
        entry = self.journal.deploy_of(migration_id)
        if entry is None:
            return self._discard(migration_id)
        with self.locks.held(entry.project_name):  # after a deploy still running, not beside it
            return self._discard(migration_id)

    def _discard(self, migration_id: str) -> DiscardResult:
        removed: list[str] = []
        kept: list[str] = []
        entry = self.journal.deploy_of(migration_id)
        # Newest first; datasets before directories, which may hold their mountpoints.
        newest_first = list(reversed(self.journal.created_by(migration_id)))
        created = sorted(newest_first, key=lambda c: REMOVAL_ORDER.index(c.kind))
        if entry is not None and entry.state == "committed":
            reason = f"migration {migration_id} committed its deploy here"
            kept = [f"deploy {entry.project_name}: {reason}"]
            kept += [f"{item}: {reason}" for item in created]
            return DiscardResult((), tuple(kept))
        if entry is not None and entry.state == "started":
            self._take_down(entry)
            self.journal.set_deploy_state(migration_id, "removed")
            removed.append(f"deploy {entry.project_name}")
        for item in created:
            try:
                reason, done = self._remove(migration_id, item)
            except AgentError as exc:
                reason, done = str(exc), False
            if reason:
                kept.append(f"{item}: {reason}")
                continue
            if done:
                removed.append(str(item))
            self.journal.forget_created(migration_id, item)
        self.claims.release(migration_id)
        log.info("discarded", migration_id=migration_id, removed=removed, kept=kept)
        return DiscardResult(tuple(removed), tuple(kept))

    def _remove(self, migration_id: str, item: Created) -> tuple[str, bool]:
        """("", True) removed; ("", False) already gone; (reason, False) kept."""
        if item.kind == "dataset":
            return self._remove_dataset(migration_id, item.name)
        if item.kind == "volume":
            return self._remove_volume(migration_id, item.name)
        if item.kind == "adopted":
            return self._empty_volume(item.name)
        path = Path(item.name)
        if not path.exists() and not path.is_symlink():
            return "", False
        if item.kind == "ancestor":
            return _remove_if_empty(path)
        if item.kind == "contents":
            return _empty_dir(path)
        if item.kind == "file":
            if path.is_dir() and not path.is_symlink():
                return "is a directory now, not the file the migration wrote", False
            path.unlink()
            return "", True
        if path.is_symlink():
            path.unlink()  # the link the migration made, never what it points to
            return "", True
        mount = _mount_inside(path)
        if mount:
            return f"holds the mount point {mount}", False
        shutil.rmtree(path)
        return "", True

    def _remove_dataset(self, migration_id: str, name: str) -> tuple[str, bool]:
        marks = self.storage.marks(name)
        if marks is None:
            return "", False
        own = marks.get(name, "")
        if own not in (migration_id, ""):
            return f"marked by migration {own}", False
        others = sorted(n for n, m in marks.items() if n != name and m != migration_id)
        if others:
            return f"holds datasets not marked by this migration: {', '.join(others)}", False
        self.storage.destroy(name)
        return "", True

    def _remove_volume(self, migration_id: str, name: str) -> tuple[str, bool]:
        volume = self.runtime.volume(name)
        if volume is None:
            return "", False
        mark = (volume.get("Labels") or {}).get(MIGRATION_LABEL, "")
        if mark and mark != migration_id:
            return f"labelled {MIGRATION_LABEL}={mark}", False
        users = self.runtime.volume_projects(name)
        if users:
            return f"in use by {', '.join(users)}", False
        agent_exec.run(["docker", "volume", "rm", name], env=self._docker_env, timeout=60)
        return "", True

    def _empty_volume(self, name: str) -> tuple[str, bool]:
        """A volume the migration found empty and filled: emptied, never removed."""
        volume = self.runtime.volume(name)
        if volume is None or not volume.get("Mountpoint"):
            return "", False
        users = self.runtime.volume_projects(name)
        if users:
            return f"in use by {', '.join(users)}", False
        return _empty_dir(Path(volume["Mountpoint"]))


def _project_files(entry: DeployEntry) -> ComposeFiles:
    return ComposeFiles(
        tuple(entry.compose_files) or (entry.compose_path,),
        tuple(entry.env_files),
        tuple(entry.profiles),
    )


def _bases(
    entry: DeployEntry, listed: ComposeFiles, texts: dict[str, str]
) -> Mapping[str, tuple[str, tuple[str, ...]]]:
    """Which of the texts are compose files, and their base directories (empty when the
    project cannot be read from them: then the copies are made as they are)."""
    try:
        project = load_stack_project(listed, entry.project_name, texts.get)
    except InvalidArgument:
        return {}
    return project.bases


def _unchanged(entry: DeployEntry) -> bool:
    """Every file the deploy wrote is still there with its text, and every listed file is
    there (an old journal without texts: the listed files are there)."""
    listed = _project_files(entry)
    if not all(os.path.isfile(f) for f in (*listed.files, *listed.env_files)):
        return False
    for path, text in entry.texts.items():
        if not os.path.isfile(path):
            return False
        if text and Path(path).read_bytes() != text.encode("utf-8", "surrogateescape"):
            return False
    return True


def _mirror(entry: DeployEntry, listed: ComposeFiles, scratch: Path) -> ComposeFiles:
    """The deploy's files rebuilt below `scratch` at their own absolute paths (relative
    references between them hold, and a compose file's absolute paths into their directories
    are moved there too): the journal's texts, a listed file it has none of copied from where
    it is, if it is; the ComposeFiles naming the copies."""
    texts = dict(entry.texts) or {entry.compose_path: entry.compose_text}
    for path in (*listed.files, *listed.env_files):
        if path not in texts and os.path.isfile(path):
            texts[path] = Path(path).read_bytes().decode("utf-8", "surrogateescape")

    def copy_of(path: str) -> str:
        return str(scratch) + os.path.normpath(path)

    path_map = [(d, copy_of(d)) for d in sorted({os.path.dirname(p) for p in texts})]
    bases = _bases(entry, listed, texts)
    for path, text in texts.items():
        copy = Path(copy_of(path))
        copy.parent.mkdir(parents=True, exist_ok=True)
        content = text.encode("utf-8", "surrogateescape")
        copy.write_bytes(in_scratch(bases, path, content, path_map, str(scratch)))
    files = tuple(copy_of(f) for f in listed.files if f in texts)
    env_files = tuple(copy_of(f) for f in listed.env_files if f in texts)
    return ComposeFiles(files or (copy_of(entry.compose_path),), env_files, listed.profiles)


def _remove_if_empty(path: Path) -> tuple[str, bool]:
    """A directory made only to reach a tree: what another migration put below it stays."""
    if path.is_symlink() or not path.is_dir():
        return "", False
    try:
        path.rmdir()
    except OSError:
        return "", False  # not empty: no longer only this migration's
    return "", True


def _empty_dir(path: Path) -> tuple[str, bool]:
    """Removes every entry of a directory that was empty before the migration, keeps it."""
    if path.is_symlink() or not path.is_dir():
        return "is no longer a directory", False
    entries = list(path.iterdir())
    for entry in entries:
        mount = _mount_inside(entry) if entry.is_dir() and not entry.is_symlink() else ""
        if mount:
            return f"holds the mount point {mount}", False
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return "", True


def _mount_inside(path: Path) -> str:
    """A mount point at or below path ("" when none): rmtree must not cross into one."""
    if os.path.ismount(path):
        return str(path)
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            sub = os.path.join(root, d)
            if os.path.ismount(sub):
                return sub
    return ""
