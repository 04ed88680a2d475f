"""Builds the agent's gRPC server: the Agent service, health, reflection, TLS or plaintext."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from stackferry.agent.config import AgentConfig
from stackferry.agent.rpc import wire
from stackferry.agent.rpc.servicer import AgentServicer
from stackferry.agent.service import AgentService
from stackferry.api.agent.v1 import agent_pb2
from stackferry.common.grpc_options import SERVER_OPTIONS, server_credentials

SERVICE = agent_pb2.DESCRIPTOR.services_by_name["Agent"]
SERVICE_NAME = SERVICE.full_name

# The bulk methods bypass protobuf for chunk messages (agent/rpc/wire.py); the
# codecs stay wire-compatible, so generated clients work unchanged.
REQUEST_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "ReceiveStream": wire.decode_receive_message,
    "FileSync": wire.decode_file_sync_message,
}
RESPONSE_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "SendStream": wire.encode_message,
    "FileSync": wire.encode_message,
}


def agent_method_handlers(servicer: AgentServicer) -> dict[str, grpc.RpcMethodHandler]:
    """Handlers for every method of the Agent service, built from its descriptor (as the
    generated add_AgentServicer_to_server does), with the fast codecs where declared."""
    handlers = {}
    for method in SERVICE.methods:
        make = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(method.client_streaming, method.server_streaming)]
        request_cls = getattr(agent_pb2, method.input_type.name)
        response_cls = getattr(agent_pb2, method.output_type.name)
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=REQUEST_DECODERS.get(method.name, request_cls.FromString),
            response_serializer=RESPONSE_ENCODERS.get(method.name, response_cls.SerializeToString),
        )
    return handlers


def build_server(config: AgentConfig, service: AgentService) -> tuple[grpc.Server, int]:
    """A started server and the port it is bound to (the config may ask for port 0)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
        options=SERVER_OPTIONS,
    )
    handlers = agent_method_handlers(AgentServicer(service))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)  # type: ignore[attr-defined]
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
