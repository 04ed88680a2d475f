"""Claims: one migration at a time per project, dataset, directory and volume on this host.

The controller claims what a migration touches: on the source the project it stops and
snapshots, on the target the datasets, directories and volumes it writes. While migration X
holds a claim, a mutating call on any of those resources from a request with another
migration id (or none) is refused with AlreadyExists naming X, its role and the claim's
expiry; the controller database of a second CLI knows nothing of X, this agent does. A
claim expires ttl seconds after the last claim (a repeated claim renews it) and is dropped
by Release. Claims are kept in the state dir: an agent restart does not free them.

Resources overlap when they are the same project (or compose file), the same volume, or a
dataset / directory and anything below it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from stackferry.agent.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from stackferry.agent.stack_deploy import write_atomic
from stackferry.hostapi import Claim, ClaimGrant

CLAIMS_FILE = "claims.json"
DEFAULT_TTL_SECONDS = 900
MAX_TTL_SECONDS = 7 * 24 * 3600
ROLES = ("source", "target")
_MIGRATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def validate_migration_id(migration_id: str) -> str:
    if not _MIGRATION_ID.match(migration_id):
        raise InvalidArgument(
            f"invalid migration id {migration_id!r}: letters, digits and _ . : - (at most 128)"
        )
    return migration_id


@dataclass(frozen=True)
class Held:
    """A live claim: what migration_id holds, until expires_unix."""

    migration_id: str
    role: str
    project_name: str
    compose_path: str
    datasets: tuple[str, ...]
    paths: tuple[str, ...]
    volumes: tuple[str, ...]
    expires_unix: int

    def describe(self) -> str:
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_unix))
        return f"migration {self.migration_id} ({self.role}, claimed until {until})"


def _below(a: str, b: str, sep: str) -> bool:
    """a and b are the same, or one lies below the other."""
    return a == b or a.startswith(b.rstrip(sep) + sep) or b.startswith(a.rstrip(sep) + sep)


@dataclass(frozen=True)
class Wanted:
    """The resources a call touches (already checked and normalised by the caller)."""

    projects: tuple[str, ...] = ()
    compose_paths: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def overlap(self, held: Held) -> str:
        """The first of these resources that held covers, named ("" when none)."""
        for project in self.projects:
            if project and project == held.project_name:
                return f"project {project!r}"
        for compose in self.compose_paths:
            if compose and compose == held.compose_path:
                return f"compose file {compose}"
        for dataset in self.datasets:
            if any(_below(dataset, h, "/") for h in held.datasets):
                return f"dataset {dataset}"
        for path in self.paths:
            if any(_below(path, h, "/") for h in held.paths):
                return f"path {path}"
        for volume in self.volumes:
            if volume in held.volumes:
                return f"volume {volume}"
        return ""


class ClaimBook:
    def __init__(
        self,
        state_dir: str | Path,
        default_ttl: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(state_dir) / CLAIMS_FILE
        self.default_ttl = default_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text())
                self._held = {
                    k: Held(**{**v, **{f: tuple(v[f]) for f in ("datasets", "paths", "volumes")}})
                    for k, v in doc.items()
                }
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise FailedPrecondition(
                    f"the claims file {self.path} is unreadable: {exc}"
                ) from exc

    def _save(self) -> None:
        write_atomic(self.path, json.dumps({k: asdict(v) for k, v in self._held.items()}))

    def _live(self) -> dict[str, Held]:
        now = self._clock()
        return {k: v for k, v in self._held.items() if v.expires_unix > now}

    def claim(self, migration_id: str, claim: Claim, wanted: Wanted) -> ClaimGrant:
        """Grants (or renews) the claim; ``wanted`` is claim's resources as checked by the
        caller. AlreadyExists when another live claim covers any of them."""
        validate_migration_id(migration_id)
        if claim.role not in ROLES:
            raise InvalidArgument(f"claim role must be source or target, got {claim.role!r}")
        if not 0 <= claim.ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidArgument(f"ttl_seconds must be 0 .. {MAX_TTL_SECONDS}")
        expires = int(self._clock()) + (claim.ttl_seconds or self.default_ttl)
        held = Held(
            migration_id,
            claim.role,
            wanted.projects[0] if wanted.projects else "",
            wanted.compose_paths[0] if wanted.compose_paths else "",
            wanted.datasets,
            wanted.paths,
            wanted.volumes,
            expires,
        )
        with self._lock:
            self._refuse(migration_id, wanted, self._live().values())
            self._held = {**self._live(), migration_id: held}
            self._save()
        return ClaimGrant(migration_id, expires)

    def release(self, migration_id: str) -> bool:
        """Drops the migration's claim; False when it held none (or it had expired)."""
        with self._lock:
            had = migration_id in self._live()
            self._held = {k: v for k, v in self._live().items() if k != migration_id}
            self._save()
        return had

    def check(self, migration_id: str, wanted: Wanted) -> None:
        """Raises AlreadyExists when a live claim of another migration covers ``wanted``."""
        with self._lock:
            self._refuse(migration_id, wanted, self._live().values())

    def held(self) -> list[Held]:
        with self._lock:
            return list(self._live().values())

    @staticmethod
    def _refuse(migration_id: str, wanted: Wanted, live: Iterable[Held]) -> None:
        for held in live:
            if held.migration_id == migration_id:
                continue
            what = wanted.overlap(held)
            if what:
                asking = f"migration {migration_id}" if migration_id else "a call without one"
                raise AlreadyExists(f"{what} is held by {held.describe()}; refused for {asking}")
