"""Queries of the Docker engine through the docker SDK: containers of a compose project,
their states and health, their logs, the images present. No grpc here.

The client is created on first use, so an agent starts even when no engine answers;
every engine failure becomes Unavailable.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import docker
import docker.errors
import requests

from stackferry.agent.errors import NotFound, Unavailable
from stackferry.agent.runtime.base import PROJECT_LABEL, SERVICE_LABEL
from stackferry.hostapi import ContainerInfo, ImageInfo, StopOutcome

VOLUME_LABEL = "com.docker.compose.volume"
DEFAULT_GRACE_SECONDS = 10.0  # compose's default stop_grace_period
SIGKILL_EXIT = 137

T = TypeVar("T")


def _grace(attrs: dict[str, Any], timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    stop_timeout = (attrs.get("Config") or {}).get("StopTimeout")
    return float(stop_timeout) if stop_timeout is not None else DEFAULT_GRACE_SECONDS


def container_state(attrs: dict[str, Any]) -> ContainerInfo:
    """A ContainerInfo from the engine's `docker inspect` document."""
    state = attrs.get("State") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ContainerInfo(
        name=str(attrs.get("Name", "")).lstrip("/"),
        id=str(attrs.get("Id", "")),
        service=labels.get(SERVICE_LABEL, ""),
        state=str(state.get("Status", "")),
        health=str((state.get("Health") or {}).get("Status", "")),
        exit_code=int(state.get("ExitCode") or 0),
        restart_count=int(attrs.get("RestartCount") or 0),
    )


@dataclass(frozen=True)
class EngineMount:
    """One entry of a container's `Mounts`."""

    container: str
    service: str
    type: str  # bind, volume, tmpfs ...
    source: str  # the host path (a volume's Mountpoint for a volume)
    destination: str
    name: str = ""  # a volume's name
    driver: str = ""
    read_only: bool = False


def engine_mount(container: dict[str, Any], mount: dict[str, Any]) -> EngineMount:
    labels = (container.get("Config") or {}).get("Labels") or {}
    return EngineMount(
        str(container.get("Name", "")).lstrip("/"),
        labels.get(SERVICE_LABEL, ""),
        str(mount.get("Type", "")),
        str(mount.get("Source", "")),
        str(mount.get("Destination", "")),
        str(mount.get("Name", "")),
        str(mount.get("Driver", "")),
        not mount.get("RW", True),
    )


class DockerApi:
    def __init__(self, docker_host: str | None, timeout: float = 30) -> None:
        self._docker_host = docker_host
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return self._docker_host or "the default Docker engine"

    def _connect(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                if self._docker_host:
                    self._client = docker.DockerClient(
                        base_url=self._docker_host, timeout=int(self._timeout)
                    )
                else:
                    self._client = docker.from_env(timeout=int(self._timeout))
            return self._client

    @contextlib.contextmanager
    def _engine(self) -> Iterator[None]:
        try:
            yield
        except docker.errors.NotFound as exc:
            raise NotFound(str(exc)) from exc
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise Unavailable(f"Docker engine at {self.where} does not answer: {exc}") from exc

    def _call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        with self._engine():
            return fn(self._connect())

    def version(self) -> str:
        return str(self._call(lambda c: c.version()).get("Version", ""))

    def project_containers(self, project: str) -> list[ContainerInfo]:
        found = self._call(
            lambda c: c.containers.list(
                all=True, filters={"label": f"{PROJECT_LABEL}={project}"}, ignore_removed=True
            )
        )
        return sorted((container_state(c.attrs) for c in found), key=lambda s: s.name)

    def project_mounts(self, project: str) -> list[EngineMount]:
        """The `Mounts` of every container of the project, as the engine made them."""
        found = self._call(
            lambda c: c.containers.list(
                all=True, filters={"label": f"{PROJECT_LABEL}={project}"}, ignore_removed=True
            )
        )
        return [engine_mount(c.attrs, m) for c in found for m in (c.attrs.get("Mounts") or [])]

    def volume(self, name: str) -> dict[str, Any] | None:
        """`docker volume inspect NAME`, None when the engine has no such volume."""
        try:
            return dict(self._call(lambda c: c.volumes.get(name)).attrs)
        except NotFound:
            return None

    def volume_projects(self, name: str) -> list[str]:
        """The compose project of each container using the volume (the container's name for
        one outside compose)."""
        found = self._call(
            lambda c: c.containers.list(all=True, filters={"volume": name}, ignore_removed=True)
        )
        labels = [(c.name, (c.attrs.get("Config") or {}).get("Labels") or {}) for c in found]
        return sorted({lab.get(PROJECT_LABEL) or f"container {cname}" for cname, lab in labels})

    def project_labels(self, project: str) -> dict[str, str]:
        """The labels of one container of the project (compose puts the same project labels
        on each), {} when it has none."""
        found = self._call(
            lambda c: c.containers.list(
                all=True, filters={"label": f"{PROJECT_LABEL}={project}"}, ignore_removed=True
            )
        )
        first = min(found, key=lambda c: c.name, default=None)
        return dict((first.attrs.get("Config") or {}).get("Labels") or {}) if first else {}

    def stop_service(self, project: str, service: str, timeout: float | None) -> StopOutcome:
        """`docker stop -t GRACE` on every running container of the service at once, as compose
        stops one service. GRACE: `timeout`, else the container's StopTimeout (compose sets it
        from stop_grace_period), else compose's 10 s. Exit 137 afterwards: SIGKILLed."""
        labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
        running = self._call(
            lambda c: c.containers.list(filters={"label": labels}, ignore_removed=True)
        )
        graces = {c.name: _grace(c.attrs, timeout) for c in running}
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
            for done in [pool.submit(self._stop_one, c, graces[c.name]) for c in running]:
                done.result()
        seconds = time.monotonic() - started
        killed = tuple(sorted(c.name for c in running if self._exit_code(c) == SIGKILL_EXIT))
        return StopOutcome(service, max(graces.values(), default=0.0), seconds, killed)

    def start_container(self, container_id: str) -> None:
        self._call(lambda c: c.api.start(container_id))

    def disable_restart(self, project: str) -> None:
        labels = [f"{PROJECT_LABEL}={project}"]
        found = self._call(
            lambda c: c.containers.list(all=True, filters={"label": labels}, ignore_removed=True)
        )
        for container in found:
            with self._engine():
                container.update(restart_policy={"Name": "no"})

    def _stop_one(self, container: Any, grace: float) -> None:
        with self._engine():
            container.stop(timeout=math.ceil(grace))

    def _exit_code(self, container: Any) -> int:
        with self._engine(), contextlib.suppress(docker.errors.NotFound):
            container.reload()
        return int((container.attrs.get("State") or {}).get("ExitCode") or 0)

    def container_logs(self, container_id: str, tail: int) -> str:
        raw = self._call(
            lambda c: c.containers.get(container_id).logs(stdout=True, stderr=True, tail=tail)
        )
        return bytes(raw).decode(errors="replace")

    def image_states(self, images: Sequence[str]) -> list[ImageInfo]:
        return [self._image_state(name) for name in images]

    def _image_state(self, name: str) -> ImageInfo:
        try:
            image = self._call(lambda c: c.images.get(name))
        except NotFound:
            return ImageInfo(name, present=False)
        return ImageInfo(name, True, str(image.id), int(image.attrs.get("Size") or 0))
