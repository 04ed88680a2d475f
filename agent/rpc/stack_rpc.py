"""RPCs InspectStack, StopStack, StartStack, CheckDeploy, DeployStack (being written)."""

from __future__ import annotations

from agent.service import AgentService


class StackRpc:
    service: AgentService
