"""Builds the controller's gRPC server: the Controller service, health, reflection, TLS or
plaintext, on HOST:PORT (port 0 = any free port) or a unix socket."""

from __future__ import annotations

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from stackferry.api.controller.v1 import controller_pb2, controller_pb2_grpc
from stackferry.common.grpc_options import SERVER_OPTIONS, server_credentials
from stackferry.controller.api.servicer import ControllerServicer
from stackferry.controller.config import ControllerConfig
from stackferry.controller.service import ControllerService

SERVICE_NAME = controller_pb2.DESCRIPTOR.services_by_name["Controller"].full_name


class ControllerServer:
    """A started server; `address` is where clients dial it (the real port when 0 was asked)."""

    def __init__(self, config: ControllerConfig, service: ControllerService) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
            options=SERVER_OPTIONS,
        )
        controller_pb2_grpc.add_ControllerServicer_to_server(
            ControllerServicer(service), self.server
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (
                SERVICE_NAME,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            self.server,
        )
        self.address = self._bind(config)
        self.server.start()
        self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)

    def _bind(self, config: ControllerConfig) -> str:
        if config.insecure:
            port = self.server.add_insecure_port(config.listen)
        else:
            assert config.tls_cert and config.tls_key
            credentials = server_credentials(config.tls_cert, config.tls_key, config.tls_ca)
            port = self.server.add_secure_port(config.listen, credentials)
        if port == 0:
            raise OSError(f"cannot listen on {config.listen}")
        if config.listen.startswith("unix:"):
            return config.listen
        return f"{config.listen.rpartition(':')[0]}:{port}"

    def stop(self, grace: float = 5) -> None:
        """Stops answering: health says NOT_SERVING first, then in-flight calls get `grace` s."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
