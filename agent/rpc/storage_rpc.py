"""RPCs GetInfo, Snapshot, GetDatasets, EstimateSend (being written)."""

from __future__ import annotations

from agent.service import AgentService


class StorageRpc:
    service: AgentService
