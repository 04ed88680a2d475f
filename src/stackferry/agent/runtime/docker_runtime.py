"""The ContainerRuntime over one Docker engine: compose CLI for actions, the docker SDK for
states, the docker CLI for image streams. DOCKER_HOST selects the engine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from stackferry.agent.errors import NotFound, Unavailable
from stackferry.agent.runtime.compose import ComposeCli, ComposeFiles
from stackferry.agent.runtime.docker_api import DockerApi, EngineMount
from stackferry.agent.runtime.images import ImageLoadSink, image_save_source, validate_image_name
from stackferry.agent.streams import ByteSink, ByteSource
from stackferry.hostapi import ContainerInfo, ImageInfo, StopOutcome


class DockerRuntime:
    def __init__(
        self,
        docker_host: str | None,
        spool_dir: str,
        docker_binary: str = "docker",
        compose_v1_binary: str = "docker-compose",
    ) -> None:
        self._env = {"DOCKER_HOST": docker_host} if docker_host else {}
        self._docker_argv = [docker_binary]
        self._spool_dir = spool_dir
        self.api = DockerApi(docker_host)
        self.compose = ComposeCli(self._env, docker_binary, compose_v1_binary)

    def info(self) -> dict[str, str]:
        try:
            docker_version = self.api.version()
        except Unavailable:
            docker_version = ""
        variant = self.compose.variant()
        return {
            "docker_version": docker_version,
            "compose_variant": variant.name if variant else "",
            "compose_version": variant.version if variant else "",
        }

    def ping(self) -> None:
        self.api.version()
        self.compose.require()

    def project_containers(self, project: str) -> list[ContainerInfo]:
        return self.api.project_containers(project)

    def container_logs(self, container_id: str, tail: int) -> str:
        return self.api.container_logs(container_id, tail)

    def project_mounts(self, project: str) -> list[EngineMount]:
        return self.api.project_mounts(project)

    def volume(self, name: str) -> dict[str, Any] | None:
        return self.api.volume(name)

    def volume_projects(self, name: str) -> list[str]:
        return self.api.volume_projects(name)

    def image_states(self, images: Sequence[str]) -> list[ImageInfo]:
        return self.api.image_states(images)

    def missing_images(self, images: Sequence[str]) -> list[str]:
        return [s.name for s in self.api.image_states(images) if not s.present]

    def compose_validate(self, project: str, files: ComposeFiles) -> None:
        self.compose.run(project, files, "config", "-q", timeout=60)

    def compose_up(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        self.compose.run(
            project, files, "up", "-d", "--remove-orphans", *_named(services), timeout=timeout
        )

    def compose_create(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        self.compose.run(
            project,
            files,
            "up",
            "--no-start",
            "--remove-orphans",
            *_named(services),
            timeout=timeout,
        )

    def project_labels(self, project: str) -> dict[str, str]:
        return self.api.project_labels(project)

    def stop_service(self, project: str, service: str, timeout: float | None) -> StopOutcome:
        return self.api.stop_service(project, service, timeout)

    def disable_restart(self, project: str) -> None:
        self.api.disable_restart(project)

    def start_container(self, container_id: str) -> None:
        self.api.start_container(container_id)

    def compose_start(
        self, project: str, files: ComposeFiles, timeout: float, services: Sequence[str] = ()
    ) -> None:
        # docker-compose 1.29's `start` takes no `--`: stacks.start lets only the project's own
        # service names, none starting with "-", come here.
        self.compose.run(project, files, "start", *services, timeout=timeout)

    def compose_down(self, project: str, files: ComposeFiles, timeout: float) -> None:
        self.compose.run(project, files, "down", "--remove-orphans", timeout=timeout)

    def open_image_save(self, images: list[str]) -> ByteSource:
        if not images:
            raise NotFound("no images to save")
        missing = self.missing_images([validate_image_name(i) for i in images])
        if missing:
            raise NotFound(f"images not present on this host: {', '.join(missing)}")
        return image_save_source(self._docker_argv, images, self._env)

    def open_image_load(self, images: Sequence[str] = ()) -> ByteSink:
        return ImageLoadSink(
            self._docker_argv, self._env, self._spool_dir, self.missing_images, images
        )


def _named(services: Sequence[str]) -> list[str]:
    """Service names after `--`: one that looks like an option is never read as one."""
    return ["--", *services] if services else []


def spool_dir_for(state_dir: str) -> str:
    return os.path.join(state_dir, "image-spool")
