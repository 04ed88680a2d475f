"""The agent's configuration: a frozen dataclass, validated once at start.

Every key can be set in /etc/stackferry/agent.yaml, as STACKFERRY_AGENT_<KEY> in the
environment, or as --<key-with-dashes> on the command line.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from stackferry.common.config_loader import ConfigError

ENV_PREFIX = "STACKFERRY_AGENT_"


@dataclass(frozen=True)
class AgentConfig:
    listen: str = "127.0.0.1:7701"
    allowed_dataset_roots: tuple[str, ...] = ()
    allowed_path_roots: tuple[str, ...] = ()
    insecure: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    docker_host: str | None = None
    state_dir: str = "/var/lib/stackferry-agent"
    storage_backend: str = "zfs"
    zfs_binary: str = "zfs"
    zpool_binary: str = "zpool"
    ticket_ttl_seconds: int = 600
    bandwidth_limit_bytes_per_second: int = 0
    metrics_listen: str | None = None
    log_format: str = "auto"
    log_level: str = "info"
    ready_file: str | None = None

    def __post_init__(self) -> None:
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"listen: expected HOST:PORT, got {self.listen!r}")
        for root in self.allowed_dataset_roots:
            if (
                not root
                or root.startswith("/")
                or root.endswith("/")
                or "@" in root
                or ".." in root.split("/")
            ):
                raise ConfigError(
                    f"allowed_dataset_roots: {root!r} is not a dataset name like pool/path"
                )
        for root in self.allowed_path_roots:
            if not root.startswith("/") or posixpath.normpath(root) != root:
                raise ConfigError(
                    f"allowed_path_roots: {root!r} must be an absolute, normalised path"
                )
        if not self.insecure and not (self.tls_cert and self.tls_key):
            raise ConfigError(
                "tls_cert and tls_key are required unless insecure: true is set (plaintext gRPC)"
            )
        if self.insecure and (self.tls_cert or self.tls_key or self.tls_ca):
            raise ConfigError("insecure: true cannot be combined with tls_cert / tls_key / tls_ca")
        if self.storage_backend not in ("zfs", "directory"):
            raise ConfigError(
                f"storage_backend: expected zfs or directory, got {self.storage_backend!r}"
            )
        if self.ticket_ttl_seconds <= 0:
            raise ConfigError("ticket_ttl_seconds: must be positive")
        if self.bandwidth_limit_bytes_per_second < 0:
            raise ConfigError("bandwidth_limit_bytes_per_second: must be 0 (unlimited) or positive")
        if self.log_format not in ("auto", "console", "json"):
            raise ConfigError(
                f"log_format: expected auto, console or json, got {self.log_format!r}"
            )
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(
                f"log_level: expected debug, info, warning or error, got {self.log_level!r}"
            )
