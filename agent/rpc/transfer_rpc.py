"""RPCs PrepareReceive, SendStream, ReceiveStream: request -> domain call -> reply. (Being written.)"""

from __future__ import annotations

from agent.service import AgentService


class TransferRpc:
    service: AgentService
