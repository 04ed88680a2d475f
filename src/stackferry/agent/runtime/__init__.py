"""Container runtimes: Docker Compose v2 (`docker compose`) or v1 (`docker-compose`)."""

from __future__ import annotations

from stackferry.agent.config import AgentConfig
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.runtime.docker_runtime import DockerRuntime, spool_dir_for


def make_runtime(config: AgentConfig) -> ContainerRuntime:
    """Connects lazily: the agent starts even when no engine answers (info() then reports
    an empty docker_version and stack RPCs fail with Unavailable)."""
    return DockerRuntime(config.docker_host, spool_dir_for(config.state_dir))
