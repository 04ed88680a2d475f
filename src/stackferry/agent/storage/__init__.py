"""Storage backends: zfs (default) and a plain directory backend."""

from __future__ import annotations

from pathlib import Path

from stackferry.agent.config import AgentConfig
from stackferry.agent.storage.base import StorageBackend


def make_backend(config: AgentConfig) -> StorageBackend:
    """The configured backend; each is imported only when chosen."""
    if config.storage_backend == "zfs":
        from stackferry.agent.storage.zfs import ZfsBackend

        return ZfsBackend(config.zfs_binary, config.zpool_binary)
    if config.storage_backend == "directory":
        from stackferry.agent.storage.directory import DirectoryBackend

        return DirectoryBackend(Path(config.state_dir) / "directory")
    raise ValueError(f"unknown storage backend {config.storage_backend!r}")
