"""Storage backends: zfs (default) and a plain directory backend."""

from __future__ import annotations

from pathlib import Path

from agent.config import AgentConfig
from agent.storage.base import StorageBackend


def make_backend(config: AgentConfig) -> StorageBackend:
    if config.storage_backend == "directory":
        from agent.storage.directory import DirectoryBackend

        return DirectoryBackend(Path(config.state_dir) / "directory")
    raise NotImplementedError("storage backends are being written")
