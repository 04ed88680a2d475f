"""The controller's configuration: a frozen dataclass, validated once at start.

Every key can be set in /etc/stackferry/controller.yaml, as STACKFERRY_CONTROLLER_<KEY> in the
environment, or as --<key-with-dashes> on the command line. The TLS settings serve the
controller's API and are also the credentials it dials agents with (one CA, mutual TLS).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stackferry.common.config_loader import ConfigError
from stackferry.controller.engine.retry import RetryPolicy

ENV_PREFIX = "STACKFERRY_CONTROLLER_"
RETRY_MAX_PAUSE_SECONDS = 10.0
STATE_DIR_ENV = "STACKFERRY_STATE_DIR"


def default_state_dir() -> str:
    """$STACKFERRY_STATE_DIR, else the XDG state directory (~/.local/state/stackferry)."""
    if os.environ.get(STATE_DIR_ENV):
        return os.environ[STATE_DIR_ENV]
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(xdg) / "stackferry")


def sqlite_url(path: Path | str) -> str:
    """The SQLAlchemy URL of the SQLite database file at `path`."""
    return f"sqlite:///{Path(path).resolve()}"


@dataclass(frozen=True)
class ControllerConfig:
    listen: str = "127.0.0.1:7700"
    state_dir: str = ""  # "" = default_state_dir()
    db_url: str = ""  # "" = SQLite file controller.db in state_dir
    insecure: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    owner_id: str = ""  # "" = hostname:pid:random; the name this controller holds leases under
    lease_seconds: float = 10.0
    # How long an agent that cannot be reached is tried again (long enough for a restart by
    # systemd), and the first pause between attempts (doubling, at most 10 s).
    retry_window_seconds: float = 90.0
    retry_pause_seconds: float = 1.0
    metrics_listen: str | None = None
    log_format: str = "auto"
    log_level: str = "info"
    ready_file: str | None = None
    # The HTTP API and dashboard (controller/http/): off unless http_listen is set.
    http_listen: str | None = None
    http_token_file: str | None = None  # bearer token for browsers without client certificates
    local_agent: str = ""  # HOST:PORT; the source agent of an HTTP create body that names none
    default_target_dataset: str = ""  # the target dataset parent when a create body names none

    def __post_init__(self) -> None:
        if not self.listen.startswith("unix:"):
            host, sep, port = self.listen.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ConfigError(f"listen: expected HOST:PORT or unix:PATH, got {self.listen!r}")
        if not self.insecure and not (self.tls_cert and self.tls_key):
            raise ConfigError(
                "tls_cert and tls_key are required unless insecure: true is set (plaintext gRPC)"
            )
        if self.insecure and (self.tls_cert or self.tls_key or self.tls_ca):
            raise ConfigError("insecure: true cannot be combined with tls_cert / tls_key / tls_ca")
        if self.metrics_listen:
            host, sep, port = self.metrics_listen.rpartition(":")
            if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ConfigError(
                    f"metrics_listen: expected HOST:PORT, got {self.metrics_listen!r}"
                )
        if self.http_listen is not None:
            check_http_settings(self)
        if self.lease_seconds <= 0:
            raise ConfigError("lease_seconds: must be positive")
        if self.retry_window_seconds < 0:
            raise ConfigError("retry_window_seconds: must not be negative")
        if not 0 < self.retry_pause_seconds <= RETRY_MAX_PAUSE_SECONDS:
            raise ConfigError(
                f"retry_pause_seconds: must be positive and at most {RETRY_MAX_PAUSE_SECONDS:g}"
            )
        if self.db_url and "://" not in self.db_url:
            raise ConfigError(
                f"db_url: expected an SQLAlchemy URL (sqlite:///PATH, postgresql+psycopg://...), "
                f"got {self.db_url!r}"
            )
        if self.log_format not in ("auto", "console", "json"):
            raise ConfigError(
                f"log_format: expected auto, console or json, got {self.log_format!r}"
            )
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(
                f"log_level: expected debug, info, warning or error, got {self.log_level!r}"
            )

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            window_seconds=self.retry_window_seconds,
            pause_seconds=self.retry_pause_seconds,
            max_pause_seconds=RETRY_MAX_PAUSE_SECONDS,
        )

    @property
    def http_address(self) -> tuple[str, int]:
        """(host, port) of http_listen; a bare PORT binds to loopback."""
        assert self.http_listen is not None
        host, _, port = self.http_listen.rpartition(":")
        return (host.strip("[]") or "127.0.0.1", int(port))

    @property
    def resolved_state_dir(self) -> str:
        return self.state_dir or default_state_dir()

    @property
    def resolved_db_url(self) -> str:
        return self.db_url or sqlite_url(Path(self.resolved_state_dir) / "controller.db")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_http_settings(config: ControllerConfig) -> None:
    """The HTTP API has the gRPC API's trust model: client certificates of the stackferry CA
    or a bearer token; plaintext only with insecure: true, and without a token only on
    loopback."""
    assert config.http_listen is not None
    host, _, port = config.http_listen.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"http_listen: expected HOST:PORT or PORT, got {config.http_listen!r}")
    host = host.strip("[]") or "127.0.0.1"
    if config.insecure:
        if host not in LOOPBACK_HOSTS and not config.http_token_file:
            raise ConfigError(
                f"http_listen: {host} is not loopback; plaintext HTTP without http_token_file "
                "would let anyone on the network run migrations"
            )
    elif not (config.tls_ca or config.http_token_file):
        raise ConfigError(
            "http_listen: set tls_ca (browsers present client certificates) or http_token_file"
        )
