"""Mutual TLS: an agent talks only to clients holding a current certificate from its CA."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

from .conftest import Pki, secure_channel

if TYPE_CHECKING:
    from conftest import AgentProcess


def health_check(channel: grpc.Channel) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return reply.status


def test_a_client_with_a_certificate_from_the_agents_ca_is_served(
    tls_agent: AgentProcess, pki: Pki
) -> None:
    with secure_channel(tls_agent.address, pki.ca, pki.client) as channel:
        assert health_check(channel) == health_pb2.HealthCheckResponse.SERVING
        info = agent_pb2_grpc.AgentStub(channel).GetInfo(agent_pb2.GetInfoRequest(), timeout=10)
    assert list(info.allowed_dataset_roots) == ["stacks"]


@pytest.mark.parametrize(
    "client",
    ["no client certificate", "certificate from another CA", "expired certificate"],
)
def test_the_handshake_is_refused(tls_agent: AgentProcess, pki: Pki, client: str) -> None:
    presented = {
        "no client certificate": None,
        "certificate from another CA": pki.other_ca_client,
        "expired certificate": pki.expired_client,
    }[client]
    channel = secure_channel(tls_agent.address, pki.ca, presented)
    with channel, pytest.raises(grpc.RpcError) as refused:
        health_check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert tls_agent.proc.poll() is None, "a refused handshake must not stop the agent"


def test_a_plaintext_client_is_refused(tls_agent: AgentProcess) -> None:
    with grpc.insecure_channel(tls_agent.address) as channel, pytest.raises(grpc.RpcError) as e:
        health_check(channel)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_agents_ca_does_not_connect(
    tls_agent: AgentProcess, pki: Pki
) -> None:
    """The other direction: an agent impersonated with a foreign certificate is not trusted."""
    other_ca = pki.other_ca_client.ca
    channel = secure_channel(tls_agent.address, other_ca, pki.other_ca_client)
    with channel, pytest.raises(grpc.RpcError) as refused:
        health_check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
