"""Docker named volumes, for the file mover: inspect one (its driver, options, labels,
mountpoint, who uses it, whether it holds anything), create one like the source's.

Volumes are reached through the engine by name, not through the allowed path roots
(DESIGN.md, "Every mount has a mover"): the agent works on the Mountpoint the engine
reports. A volume a migration creates carries the label MIGRATION_LABEL with its id.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import docker
import docker.errors
import requests

from stackferry.agent.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from stackferry.agent.runtime.base import PROJECT_LABEL, SERVICE_LABEL
from stackferry.hostapi import VolumeInfo, VolumeSpec, VolumeUser

MIGRATION_LABEL = "stackferry.migration"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")  # the engine's own rule
T = TypeVar("T")


def check_volume_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidArgument(f"invalid volume name {name!r}")
    return name


def tree_size(root: str) -> tuple[int, bool]:
    """(the regular files' sizes summed, whether root holds no entry at all)."""
    total, empty = 0, True
    for dirpath, dirnames, filenames in os.walk(root):
        if dirnames or filenames:
            empty = False
        for name in filenames:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                total += st.st_size if stat.S_ISREG(st.st_mode) else 0
    return total, empty


class Volumes:
    def __init__(self, docker_host: str | None, timeout: float = 30) -> None:
        self._docker_host = docker_host
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    def _connect(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = (
                    docker.DockerClient(base_url=self._docker_host, timeout=int(self._timeout))
                    if self._docker_host
                    else docker.from_env(timeout=int(self._timeout))
                )
            return self._client

    @contextlib.contextmanager
    def _engine(self) -> Iterator[None]:
        try:
            yield
        except docker.errors.NotFound as exc:
            raise NotFound(str(exc)) from exc
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise AlreadyExists(str(exc.explanation or exc)) from exc
            raise Unavailable(f"Docker engine error: {exc}") from exc
        except (docker.errors.DockerException, requests.RequestException) as exc:
            where = self._docker_host or "the default Docker engine"
            raise Unavailable(f"Docker engine at {where} does not answer: {exc}") from exc

    def _call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        with self._engine():
            return fn(self._connect())

    def inspect(self, name: str) -> VolumeInfo:
        """exists=False when the engine has no such volume."""
        check_volume_name(name)
        try:
            attrs: dict[str, Any] = self._call(lambda c: c.volumes.get(name).attrs)
        except NotFound:
            return VolumeInfo(name, exists=False)
        mountpoint = str(attrs.get("Mountpoint") or "")
        size, empty = tree_size(mountpoint) if mountpoint else (0, True)
        return VolumeInfo(
            name=name,
            exists=True,
            driver=str(attrs.get("Driver") or ""),
            driver_opts=dict(attrs.get("Options") or {}),
            labels=dict(attrs.get("Labels") or {}),
            mountpoint=mountpoint,
            empty=empty,
            size_bytes=size,
            used_by=tuple(self._users(name)),
        )

    def _users(self, name: str) -> list[VolumeUser]:
        found = self._call(
            lambda c: c.containers.list(all=True, filters={"volume": name}, ignore_removed=True)
        )
        users = []
        for container in found:
            labels = (container.attrs.get("Config") or {}).get("Labels") or {}
            state = (container.attrs.get("State") or {}).get("Status", "")
            users.append(
                VolumeUser(
                    container=container.name,
                    project=labels.get(PROJECT_LABEL, ""),
                    service=labels.get(SERVICE_LABEL, ""),
                    running=state == "running",
                )
            )
        return sorted(users, key=lambda u: u.container)

    def mountpoint(self, name: str) -> str:
        """The directory the engine keeps the volume's data in; NotFound without a volume."""
        info = self.inspect(name)
        if not info.exists:
            raise NotFound(f"no volume {name!r} on this host's Docker engine")
        if not info.mountpoint or not os.path.isdir(info.mountpoint):
            raise NotFound(f"volume {name!r} has no local mountpoint this agent can read")
        return info.mountpoint

    def create(
        self,
        spec: VolumeSpec,
        allow_overwrite: bool,
        migration_id: str,
        before_create: Callable[[], None],
    ) -> VolumeInfo:
        """Creates spec with the migration's label (``before_create`` runs first: the
        journal records what a migration creates before it exists). An existing volume:
        carrying this migration's label, kept (a retry); empty and unused, recreated;
        otherwise refused unless allow_overwrite (then kept: the file pass overwrites it)."""
        check_volume_name(spec.name)
        existing = self.inspect(spec.name)
        if existing.exists:
            if migration_id and existing.labels.get(MIGRATION_LABEL) == migration_id:
                return existing
            if existing.empty and not existing.used_by:
                self._call(lambda c: c.volumes.get(spec.name).remove())
            elif allow_overwrite:
                return existing
            else:
                users = ", ".join(u.container for u in existing.used_by)
                holds = "holds data" if not existing.empty else f"is used by {users}"
                raise AlreadyExists(
                    f"volume {spec.name!r} already exists on the target and {holds}: "
                    "refused without allow_overwrite"
                )
        before_create()
        # A source volume an earlier migration made carries that migration's id: not this one's.
        labels = {k: v for k, v in spec.labels.items() if k != MIGRATION_LABEL}
        if migration_id:
            labels[MIGRATION_LABEL] = migration_id
        self._call(
            lambda c: c.volumes.create(
                name=spec.name,
                driver=spec.driver or "local",
                driver_opts=dict(spec.driver_opts),
                labels=labels,
            )
        )
        return self.inspect(spec.name)
