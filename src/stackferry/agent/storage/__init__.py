"""Storage backends: zfs (default) and a plain directory backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stackferry.agent.config import AgentConfig
from stackferry.agent.storage.base import StorageBackend


def _no_record(migration_id: str, kind: str, name: str) -> None:
    return None


def make_backend(
    config: AgentConfig, record_created: Callable[[str, str, str], None] = _no_record
) -> StorageBackend:
    """The configured backend; each is imported only when chosen. ``record_created``
    journals the datasets a migration's receive creates (agent/journal.py)."""
    if config.storage_backend == "zfs":
        from stackferry.agent.storage.zfs import ZfsBackend

        return ZfsBackend(config.zfs_binary, config.zpool_binary, record_created)
    if config.storage_backend == "directory":
        from stackferry.agent.storage.directory import DirectoryBackend

        return DirectoryBackend(Path(config.state_dir) / "directory", "tar", record_created)
    raise ValueError(f"unknown storage backend {config.storage_backend!r}")
