"""The container runtime interface (Docker Compose v2 / v1). No grpc here."""

from __future__ import annotations

from typing import Protocol


class ContainerRuntime(Protocol):
    def info(self) -> dict[str, str]:
        """docker_version, compose_variant, compose_version ("" when absent)."""
        ...
