"""Builds the agent's gRPC server: the Agent service, health, reflection, TLS or plaintext."""

from __future__ import annotations

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from agent.config import AgentConfig
from agent.pb import agent_pb2, agent_pb2_grpc
from agent.rpc.servicer import AgentServicer
from agent.service import AgentService
from common.grpc_options import SERVER_OPTIONS, server_credentials

SERVICE_NAME = agent_pb2.DESCRIPTOR.services_by_name["Agent"].full_name


def build_server(config: AgentConfig, service: AgentService) -> tuple[grpc.Server, int]:
    """A started server and the port it is bound to (the config may ask for port 0)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
        options=SERVER_OPTIONS,
    )
    agent_pb2_grpc.add_AgentServicer_to_server(AgentServicer(service), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    if config.insecure:
        port = server.add_insecure_port(config.listen)
    else:
        assert config.tls_cert and config.tls_key
        port = server.add_secure_port(
            config.listen, server_credentials(config.tls_cert, config.tls_key, config.tls_ca)
        )
    if port == 0:
        raise OSError(f"cannot listen on {config.listen}")
    server.start()
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, port
