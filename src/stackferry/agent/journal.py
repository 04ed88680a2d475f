"""The agent's journal: what it did for which migration, in a small JSON file in its state dir,
so that a restart knows it (agent/cleanup.py reads it).

- Deploys: DeployStack with a migration id records "started" before `compose up`; Release
  with committed=True records "committed". A deploy found "started" when the agent starts is
  one whose migration never finished: it is taken down before the agent serves ("removed").
- Creations: what a migration created on this host (datasets, volumes, directories, compose
  files), recorded *before* it is created, so that a crash between creating a thing and
  marking it still leaves it known. Discard removes what is recorded here and still carries
  the migration's mark; ``record_created`` is the one call for every creator.

Every change is written to a temp file, fsynced and renamed over the journal (and the
directory fsynced): a crash leaves the old journal or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stackferry.agent.errors import FailedPrecondition, InvalidArgument
from stackferry.agent.stack_deploy import write_atomic

JOURNAL_FILE = "journal.json"
DEPLOY_STATES = ("started", "committed", "removed")
# "dir": a tree the migration made and wrote (removed whole); "ancestor": a directory it
# created only to reach one (removed only while empty: another migration may use it since);
# "contents": an empty directory it found and filled (emptied, kept); "adopted": an empty
# volume it found, identical to the one it would create, and filled (emptied, kept).
CREATED_KINDS = ("dataset", "volume", "dir", "file", "ancestor", "contents", "adopted")


@dataclass(frozen=True)
class DeployEntry:
    migration_id: str
    project_name: str
    compose_path: str
    compose_text: str  # to take the stack down even if its compose file is gone
    state: str  # DEPLOY_STATES
    # The whole project `compose down` is given while its files are there (-f, --env-file,
    # --profile: a `${VAR:?}` only an env file sets, a network only an override declares).
    compose_files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    # Every file the deploy writes -> its text (a binary one as ""): the take-down rebuilds
    # the whole file set from it when the files are gone or changed.
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Created:
    kind: str  # CREATED_KINDS
    name: str  # dataset name, volume name, absolute path

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class Journal:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / JOURNAL_FILE
        self._lock = threading.Lock()
        self._deploys: dict[str, DeployEntry] = {}
        self._created: dict[str, list[Created]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text())
            self._deploys = {k: DeployEntry(**v) for k, v in doc.get("deploys", {}).items()}
            self._created = {
                k: [Created(**c) for c in v] for k, v in doc.get("created", {}).items()
            }
        except (OSError, ValueError, TypeError) as exc:
            # Starting without it would forget deploys that must be taken down.
            raise FailedPrecondition(f"the agent journal {self.path} is unreadable: {exc}") from exc

    def _save(self) -> None:
        doc = {
            "deploys": {k: asdict(v) for k, v in self._deploys.items()},
            "created": {k: [asdict(c) for c in v] for k, v in self._created.items() if v},
        }
        write_atomic(self.path, json.dumps(doc, indent=1, sort_keys=True))
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- deploys -------------------------------------------------------------------------

    def deploy_started(
        self,
        migration_id: str,
        project_name: str,
        compose_path: str,
        compose_text: str,
        compose_files: tuple[str, ...] = (),
        env_files: tuple[str, ...] = (),
        profiles: tuple[str, ...] = (),
        texts: dict[str, str] | None = None,
    ) -> None:
        entry = DeployEntry(
            migration_id,
            project_name,
            compose_path,
            compose_text,
            "started",
            compose_files,
            env_files,
            profiles,
            dict(texts or {}),
        )
        with self._lock:
            self._deploys[migration_id] = entry
            self._save()

    def set_deploy_state(self, migration_id: str, state: str) -> None:
        if state not in DEPLOY_STATES:
            raise ValueError(f"unknown deploy state {state!r}")
        with self._lock:
            entry = self._deploys.get(migration_id)
            if entry is None or entry.state == state:
                return
            self._deploys[migration_id] = DeployEntry(**{**asdict(entry), "state": state})
            self._save()

    def deploy_of(self, migration_id: str) -> DeployEntry | None:
        with self._lock:
            return self._deploys.get(migration_id)

    def uncommitted_deploys(self) -> list[DeployEntry]:
        with self._lock:
            return [d for d in self._deploys.values() if d.state == "started"]

    # -- creations -----------------------------------------------------------------------

    def record_created(self, migration_id: str, kind: str, name: str) -> None:
        """Records, before creating it, that migration_id creates this dataset / volume /
        directory / file; Discard(migration_id) removes it (if it still carries the mark)."""
        if not migration_id:
            return  # a call outside any migration owns nothing to discard later
        if kind not in CREATED_KINDS:
            raise InvalidArgument(f"unknown kind {kind!r} (one of {', '.join(CREATED_KINDS)})")
        item = Created(kind, name)
        with self._lock:
            items = self._created.setdefault(migration_id, [])
            if item not in items:
                items.append(item)
                self._save()

    def record_new_dir(self, migration_id: str, leaf: str) -> None:
        record_new_dir(self.record_created, migration_id, leaf)

    def created_by(self, migration_id: str) -> list[Created]:
        """In the order they were created."""
        with self._lock:
            return list(self._created.get(migration_id, []))

    def forget_created(self, migration_id: str, item: Created) -> None:
        with self._lock:
            items = self._created.get(migration_id, [])
            if item in items:
                items.remove(item)
                self._save()


def record_new_dir(record: Callable[[str, str, str], None], migration_id: str, leaf: str) -> None:
    """Records a directory about to be made with every missing ancestor: the ancestors
    topmost first as "ancestor", the leaf as "dir" (Discard walks them bottom-up)."""
    missing = []
    path = os.path.abspath(leaf)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    if not missing:
        return
    for ancestor in reversed(missing[1:]):
        record(migration_id, "ancestor", ancestor)
    record(migration_id, "dir", missing[0])
