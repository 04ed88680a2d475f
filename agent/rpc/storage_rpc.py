"""RPCs GetInfo, Snapshot, GetDatasets, EstimateSend: request -> domain call -> reply. (Being written.)"""

from __future__ import annotations

from agent.service import AgentService


class StorageRpc:
    service: AgentService
