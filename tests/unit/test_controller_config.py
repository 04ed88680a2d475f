"""The controller's configuration: defaults, sources, and refusals that name the key."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from stackferry.api.controller.v1 import controller_pb2, controller_pb2_grpc
from stackferry.common.config_loader import ConfigError, load_config
from stackferry.controller.config import ENV_PREFIX, ControllerConfig
from stackferry.controller.server import ControllerServer
from stackferry.controller.wiring import build_service


def test_defaults_put_the_database_in_the_state_dir(tmp_path: Path) -> None:
    config = load_config(
        ControllerConfig, None, {"insecure": True, "state_dir": str(tmp_path)}, ENV_PREFIX, {}
    )
    assert config.resolved_db_url == f"sqlite:///{tmp_path / 'controller.db'}"
    assert config.listen == "127.0.0.1:7700"


def test_state_dir_env_is_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STACKFERRY_STATE_DIR", str(tmp_path / "s"))
    assert ControllerConfig(insecure=True).resolved_state_dir == str(tmp_path / "s")


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "controller.yaml"
    path.write_text("listen: 0.0.0.0:7700\ninsecure: true\nlease_seconds: 5\nlog_level: debug\n")
    env = {f"{ENV_PREFIX}LEASE_SECONDS": "7", f"{ENV_PREFIX}DB_URL": "sqlite:////tmp/x.db"}
    config = load_config(ControllerConfig, path, {"log_level": "error"}, ENV_PREFIX, env)
    assert config.listen == "0.0.0.0:7700"
    assert config.lease_seconds == 7
    assert config.db_url == "sqlite:////tmp/x.db"
    assert config.log_level == "error"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({}, "tls_cert"),
        ({"insecure": True, "tls_cert": "c.pem"}, "insecure"),
        ({"insecure": True, "listen": "7700"}, "listen"),
        ({"insecure": True, "lease_seconds": 0}, "lease_seconds"),
        ({"insecure": True, "db_url": "controller.db"}, "db_url"),
        ({"insecure": True, "log_format": "xml"}, "log_format"),
        ({"insecure": True, "metrics_listen": "9700"}, "metrics_listen"),
        ({"insecure": True, "colour": "red"}, "colour"),
    ],
)
def test_bad_values_are_refused_naming_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(ControllerConfig, None, values, ENV_PREFIX, {})


def test_a_unix_socket_listen_is_served_there(tmp_path: Path) -> None:
    """Accepted is not enough: the server must bind the socket and answer on it."""
    socket = tmp_path / "controller.sock"
    values = {"insecure": True, "listen": f"unix:{socket}", "state_dir": str(tmp_path)}
    config = load_config(ControllerConfig, None, values, ENV_PREFIX, {})
    service = build_service(config)
    try:
        server = ControllerServer(config, service)
        try:
            assert socket.is_socket()
            with grpc.insecure_channel(server.address) as channel:
                stub = controller_pb2_grpc.ControllerStub(channel)
                listed = stub.ListMigrations(controller_pb2.ListMigrationsRequest(), timeout=10)
            assert list(listed.migrations) == []
        finally:
            server.stop(0)
    finally:
        service.shutdown()
        service.store.close()


def test_the_http_api_is_off_by_default_and_a_bare_port_binds_loopback() -> None:
    assert ControllerConfig(insecure=True).http_listen is None
    config = load_config(
        ControllerConfig, None, {"insecure": True, "http_listen": "8080"}, ENV_PREFIX, {}
    )
    assert config.http_address == ("127.0.0.1", 8080)
    assert ControllerConfig(insecure=True, http_listen="[::1]:0").http_address == ("::1", 0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"insecure": True, "http_listen": "0.0.0.0:8080"}, "not loopback"),
        ({"insecure": True, "http_listen": "127.0.0.1:http"}, "HOST:PORT"),
        ({"tls_cert": "c", "tls_key": "k", "http_listen": "8080"}, "tls_ca"),
    ],
)
def test_an_http_api_nobody_would_authenticate_is_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ControllerConfig(**values)  # type: ignore[arg-type]


def test_a_token_lets_plaintext_http_leave_loopback() -> None:
    config = ControllerConfig(insecure=True, http_listen="0.0.0.0:8080", http_token_file="/t")
    assert config.http_address == ("0.0.0.0", 8080)
