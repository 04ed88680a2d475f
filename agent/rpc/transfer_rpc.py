"""RPCs PrepareReceive, SendStream, ReceiveStream (being written)."""

from __future__ import annotations

from agent.service import AgentService


class TransferRpc:
    service: AgentService
