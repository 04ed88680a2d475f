"""Container runtimes: Docker Compose v2 (`docker compose`) or v1 (`docker-compose`)."""

from __future__ import annotations

from agent.config import AgentConfig
from agent.runtime.base import ContainerRuntime


def make_runtime(config: AgentConfig) -> ContainerRuntime:
    raise NotImplementedError("the compose runtime is being written")
