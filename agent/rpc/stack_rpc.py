"""RPCs InspectStack, StopStack, StartStack, CheckDeploy, DeployStack: request -> domain call -> reply. (Being written.)"""

from __future__ import annotations

from agent.service import AgentService


class StackRpc:
    service: AgentService
