"""The container runtime interface (Docker Compose v2 / v1 over a Docker engine). No grpc here.

The runtime offers primitives (compose commands, container and image states, image
streams); the stack logic built from them lives in agent/stacks.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from stackferry.agent.streams import ByteSink, ByteSource
from stackferry.hostapi import ContainerInfo, ImageInfo, StopOutcome

if TYPE_CHECKING:
    from stackferry.agent.runtime.compose import ComposeFiles
    from stackferry.agent.runtime.docker_api import EngineMount

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class ContainerRuntime(Protocol):
    def info(self) -> dict[str, str]:
        """docker_version, compose_variant, compose_version ("" when absent)."""
        ...

    def ping(self) -> None:
        """Raises Unavailable unless the engine answers and a compose CLI is installed."""
        ...

    def project_containers(self, project: str) -> list[ContainerInfo]:
        """Every container (running or not) labelled with this compose project."""
        ...

    def container_logs(self, container_id: str, tail: int) -> str: ...

    def project_mounts(self, project: str) -> list[EngineMount]:
        """What the engine mounted into every container of the project (running or not)."""
        ...

    def volume(self, name: str) -> dict[str, Any] | None:
        """The engine's document of a volume (Driver, Options, Labels, Mountpoint), or None."""
        ...

    def volume_projects(self, name: str) -> list[str]:
        """The compose projects (or "container NAME") of every container using the volume."""
        ...

    def image_states(self, images: Sequence[str]) -> list[ImageInfo]: ...

    def missing_images(self, images: Sequence[str]) -> list[str]: ...

    def compose_validate(self, project: str, files: ComposeFiles) -> None:
        """`compose config -q`: raises CommandFailed naming what this compose CLI refuses."""
        ...

    def compose_up(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        """`compose -p PROJECT -f F1 -f F2 ... up -d [SERVICES]` (no services: every active
        one); raises CommandFailed with compose's stderr."""
        ...

    def compose_create(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        """`compose up --no-start`: networks and containers created, nothing started."""
        ...

    def project_labels(self, project: str) -> dict[str, str]:
        """The compose labels of the project's containers ({} without containers)."""
        ...

    def stop_service(self, project: str, service: str, timeout: float | None) -> StopOutcome:
        """Stops the service's running containers at once, each given `timeout` (None: its
        own stop_grace_period) before SIGKILL; says which were killed."""
        ...

    def disable_restart(self, project: str) -> None:
        """Sets restart policy "no" on every container of the project: a stopped one with
        `restart: always` would otherwise come back when the engine restarts."""
        ...

    def compose_start(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        """`compose start` of `services` (empty: every service with a container)."""
        ...

    def start_container(self, container_id: str) -> None:
        """The engine's start of one created (or stopped) container, no compose process."""
        ...

    def compose_down(self, project: str, files: ComposeFiles, timeout: float) -> None:
        """Removes the project's containers and networks; never its volumes or bind sources."""
        ...

    def open_image_save(self, images: list[str]) -> ByteSource:
        """`docker save IMAGES` as a stream; NotFound if one is not present."""
        ...

    def open_image_load(self, images: Sequence[str] = ()) -> ByteSink:
        """A sink for a `docker save` stream: loaded at commit (after the stream was
        verified), so an abort leaves nothing; ``images`` are checked present afterwards."""
        ...
