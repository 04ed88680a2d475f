"""Runs the HTTP API in the controller process: uvicorn in a thread beside the gRPC server.

TLS follows the gRPC settings: the controller's tls_cert / tls_key, and with tls_ca the
client's certificate is checked in the handshake (required unless a token file lets browsers
without one in; a certificate of another CA is refused either way). Plaintext only with
insecure: true.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import uvicorn

from stackferry.controller.config import ControllerConfig
from stackferry.controller.http.app import build_app
from stackferry.controller.http.auth import read_token
from stackferry.controller.http.convert import SpecDefaults
from stackferry.controller.service import ControllerService


class HttpServer:
    """A started HTTP server; `url` is where it answers (the real port when 0 was asked)."""

    def __init__(self, config: ControllerConfig, service: ControllerService) -> None:
        host, port = config.http_address
        token = read_token(config.http_token_file) if config.http_token_file else None
        app = build_app(
            service,
            SpecDefaults(
                local_agent=config.local_agent,
                default_target_dataset=config.default_target_dataset,
            ),
            token,
        )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError:
            self.socket.close()
            raise
        tls: dict[str, object] = {}
        if not config.insecure:
            tls = {
                "ssl_certfile": config.tls_cert,
                "ssl_keyfile": config.tls_key,
                "ssl_ca_certs": config.tls_ca,
                "ssl_cert_reqs": (
                    ssl.CERT_NONE
                    if not config.tls_ca
                    else ssl.CERT_OPTIONAL
                    if token
                    else ssl.CERT_REQUIRED
                ),
            }
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=2,
                **tls,  # type: ignore[arg-type]
            )
        )
        bound = self.socket.getsockname()[1]
        scheme = "http" if config.insecure else "https"
        shown = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{shown}:{bound}"
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="http", daemon=True
        )
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            time.sleep(0.02)
        if not self.server.started:  # uvicorn logged why (e.g. unreadable TLS files)
            self.socket.close()
            raise OSError(f"the HTTP API did not start on {config.http_listen}")

    def stop(self) -> None:
        """Open event streams are cut after uvicorn's short grace; clients reconnect."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
