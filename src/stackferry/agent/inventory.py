"""The mount inventory of a stack on this host: every mount of every service, read from the
compose file AND from what the engine mounted into the project's containers (so a mount the
compose file does not show is still seen), with the host facts the controller needs to give
each one a mover: a bind source after realpath (inside the allowed roots or not, on a dataset
or not), a volume's driver, options, labels and Mountpoint, and the other projects using it.
No grpc here; the decisions are the controller's (controller/domain/mounts.py).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, replace

from stackferry.agent.errors import AgentError
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.runtime.docker_api import EngineMount
from stackferry.agent.storage.base import StorageBackend
from stackferry.compose import ComposeFile, ServiceMount
from stackferry.hostapi import MountInfo

_ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")  # the engine names an anonymous volume by a hash


@dataclass(frozen=True)
class Inventory:
    roots: Roots
    storage: StorageBackend
    runtime: ContainerRuntime

    def mounts(self, compose: ComposeFile) -> list[MountInfo]:
        project = compose.project_name
        engine = self.runtime.project_mounts(project)
        found: list[MountInfo] = []
        seen: set[tuple[str, str]] = set()
        for declared in compose.mounts:
            key = (declared.service, posixpath.normpath(declared.target))
            ran = next((e for e in engine if (e.service, e.destination) == key), None)
            if key not in seen:
                seen.add(key)
                found.append(self._declared(compose, declared, ran))
        for ran in engine:
            key = (ran.service, ran.destination)
            if key not in seen:
                seen.add(key)
                found.append(self._undeclared(project, ran))
        return found

    def _declared(
        self, compose: ComposeFile, m: ServiceMount, ran: EngineMount | None
    ) -> MountInfo:
        base = MountInfo(
            m.service,
            m.source,
            m.target,
            type=m.type,
            read_only=m.read_only,
            location=m.location,
            seen_in="compose+container" if ran else "compose",
        )
        if m.type == "bind":
            return self._path(base, m.source)
        if m.type != "volume":
            return base
        if not m.source:  # anonymous: only a container knows its name
            anonymous = replace(base, anonymous=True)
            return self._volume(compose.project_name, anonymous, ran.name) if ran else anonymous
        spec = compose.volume(m.source)
        name = ran.name if ran else (spec.name if spec else f"{compose.project_name}_{m.source}")
        base = replace(base, volume_key=m.source, external=bool(spec and spec.external))
        if spec and spec.device:
            base = replace(base, source=spec.device, volume=name, volume_driver=spec.driver)
            base = replace(base, volume_options=dict(spec.driver_opts))
            return self._path(base, spec.device)
        return self._volume(compose.project_name, base, name)

    def _undeclared(self, project: str, ran: EngineMount) -> MountInfo:
        base = MountInfo(
            ran.service,
            ran.source if ran.type == "bind" else ran.name,
            ran.destination,
            type=ran.type,
            read_only=ran.read_only,
            location=f"container {ran.container}",
            seen_in="container",
        )
        if ran.type == "bind":
            return self._path(base, ran.source)
        if ran.type != "volume":
            return base
        anonymous = bool(_ANONYMOUS.match(ran.name))
        return self._volume(project, replace(base, anonymous=anonymous), ran.name)

    def _path(self, base: MountInfo, source: str) -> MountInfo:
        """A host path: resolved first, so a link out of the roots is judged by where it goes."""
        resolved = os.path.realpath(source)
        try:
            self.roots.check_path(resolved)
            outside = False
        except AgentError:
            outside = True
        entry = replace(
            base, resolved_source=resolved, outside_roots=outside, source_kind=_kind(resolved)
        )
        dataset = self.storage.dataset_for_path(resolved)
        if dataset is not None:
            return replace(
                entry, on_zfs=True, dataset=dataset.name, dataset_mountpoint=dataset.mountpoint
            )
        if outside:
            return entry
        return replace(entry, size_bytes=tree_bytes(resolved))

    def _volume(self, project: str, base: MountInfo, name: str) -> MountInfo:
        entry = replace(base, volume=name)
        attrs = self.runtime.volume(name)
        if attrs is None:
            return entry
        users = [p for p in self.runtime.volume_projects(name) if p != project]
        mountpoint = str(attrs.get("Mountpoint") or "")
        return replace(
            entry,
            volume_driver=str(attrs.get("Driver") or ""),
            volume_options=dict(attrs.get("Options") or {}),
            volume_labels=dict(attrs.get("Labels") or {}),
            volume_mountpoint=mountpoint,
            shared_with=tuple(users),
            size_bytes=tree_bytes(mountpoint) if mountpoint else 0,
        )


def _kind(path: str) -> str:
    if os.path.isdir(path):
        return "dir"
    if os.path.isfile(path):
        return "file"
    return "other" if os.path.lexists(path) else "missing"


def tree_bytes(path: str) -> int:
    """The sizes of the regular files under `path` (symlinks not followed)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:
                continue  # gone meanwhile: the app is running
            if not os.path.islink(os.path.join(folder, name)):
                total += stat.st_size
    return total
