"""The Controller gRPC API on a real server (port 0) over the real service and a SQLite store:
replies, status codes, health and reflection."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.common import certs
from stackferry.common.grpc_options import channel_credentials, open_channel
from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import ControllerConfig
from stackferry.controller.server import SERVICE_NAME, ControllerServer
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

TERMINAL = {pb.COMPLETED, pb.FAILED, pb.ROLLED_BACK, pb.CANCELLED}


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[grpc.Channel]:
    store = SqlMigrationStore(f"sqlite:///{tmp_path / 'controller.db'}")
    service = ControllerService(store, AgentDialer(None), owner_id="rpc-test")
    server = ControllerServer(ControllerConfig(listen="127.0.0.1:0", insecure=True), service)
    with open_channel(server.address) as chan:
        yield chan
    server.stop(grace=1)
    service.shutdown()
    store.close()


@pytest.fixture
def stub(channel: grpc.Channel) -> pb_grpc.ControllerStub:
    return pb_grpc.ControllerStub(channel)


def free_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spec(compose: str = "/srv/app/docker-compose.yml", **overrides: str) -> pb.MigrationSpec:
    fields: dict[str, Any] = {
        "name": "app",
        "compose_path": compose,
        "source_agent": f"127.0.0.1:{free_port()}",
        "target_agent": f"127.0.0.1:{free_port()}",
        "target_dataset": "tank/migrated",
        "target_base": "/srv/migrated",
        **overrides,
    }
    return pb.MigrationSpec(**fields)


def code_of(call: Callable[..., object], *args: object, **kwargs: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        call(*args, **kwargs)
    return raised.value.code()  # type: ignore[no-any-return]


def test_create_get_and_list_round_trip_the_spec(stub: pb_grpc.ControllerStub) -> None:
    wanted = spec(target_compose_dir="/srv/app-target")
    wanted.options.keep_snapshots = True
    wanted.options.bandwidth_limit_bytes_per_second = 1 << 20
    wanted.options.path_maps.add(source="/data", target="/srv/data")
    created = stub.CreateMigration(pb.CreateMigrationRequest(spec=wanted))
    assert created.state == pb.PENDING
    assert created.id
    assert created.downtime_seconds < 0

    fetched = stub.GetMigration(pb.MigrationRef(id=created.id))
    assert fetched.spec.compose_path == wanted.compose_path
    assert fetched.spec.target_compose_dir == "/srv/app-target"
    assert fetched.spec.options.keep_snapshots
    assert fetched.spec.options.bandwidth_limit_bytes_per_second == 1 << 20
    assert [(m.source, m.target) for m in fetched.spec.options.path_maps] == [
        ("/data", "/srv/data")
    ]
    assert fetched.spec.transfer_method == "zfs_send"
    assert fetched.spec.options.verify_timeout_seconds > 0, "0 means the default"

    listed = stub.ListMigrations(pb.ListMigrationsRequest())
    assert [m.id for m in listed.migrations] == [created.id]
    status = stub.GetMigrationStatus(pb.MigrationRef(id=created.id))
    assert status.state == pb.PENDING
    assert status.eta_seconds < 0


def test_list_filters_by_state_and_pages(stub: pb_grpc.ControllerStub) -> None:
    ids = [
        stub.CreateMigration(
            pb.CreateMigrationRequest(spec=spec(f"/srv/app{i}/docker-compose.yml"))
        ).id
        for i in range(3)
    ]
    stub.CancelMigration(pb.MigrationRef(id=ids[0]))

    pending = stub.ListMigrations(pb.ListMigrationsRequest(states=[pb.PENDING]))
    assert sorted(m.id for m in pending.migrations) == sorted(ids[1:])
    cancelled = stub.ListMigrations(pb.ListMigrationsRequest(states=[pb.CANCELLED]))
    assert [m.id for m in cancelled.migrations] == [ids[0]]

    seen: list[str] = []
    token = ""
    while True:
        page = stub.ListMigrations(pb.ListMigrationsRequest(page_size=2, page_token=token))
        assert len(page.migrations) <= 2
        seen += [m.id for m in page.migrations]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 3


def test_unknown_id_is_not_found_everywhere(stub: pb_grpc.ControllerStub) -> None:
    ref = pb.MigrationRef(id="0" * 32)
    for call in (
        stub.GetMigration,
        stub.GetMigrationStatus,
        stub.StartMigration,
        stub.CancelMigration,
        stub.DeleteMigration,
    ):
        assert code_of(call, ref) == grpc.StatusCode.NOT_FOUND
    target = pb.MigrationTarget(id="0" * 32)
    assert code_of(lambda: stub.PlanMigration(target)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: stub.ValidateMigration(target)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: list(stub.WatchMigration(ref))) == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "bad",
    [
        {"compose": "relative/docker-compose.yml"},
        {"source_agent": ""},
        {"target_agent": "no-port"},
        {"target_dataset": "pool/../escape"},  # "" is fine: a stack whose data is off ZFS
        {"target_base": "not/absolute"},
        {"transfer_method": "rsync"},
    ],
)
def test_a_bad_spec_is_invalid_argument_and_stores_nothing(
    stub: pb_grpc.ControllerStub, bad: dict[str, str]
) -> None:
    compose = bad.pop("compose", "/srv/app/docker-compose.yml")
    request = pb.CreateMigrationRequest(spec=spec(compose, **bad))
    assert code_of(lambda: stub.CreateMigration(request)) == grpc.StatusCode.INVALID_ARGUMENT
    assert not stub.ListMigrations(pb.ListMigrationsRequest()).migrations


def test_bad_filters_are_invalid_argument(stub: pb_grpc.ControllerStub) -> None:
    for request in (
        pb.ListMigrationsRequest(page_token="not-a-token"),
        pb.ListMigrationsRequest(states=[pb.MIGRATION_STATE_UNSPECIFIED]),
    ):
        assert code_of(stub.ListMigrations, request) == grpc.StatusCode.INVALID_ARGUMENT
    empty = pb.MigrationTarget()
    assert code_of(lambda: stub.PlanMigration(empty)) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_second_migration_of_the_same_stack_is_already_exists(
    stub: pb_grpc.ControllerStub,
) -> None:
    first = spec()
    stub.CreateMigration(pb.CreateMigrationRequest(spec=first))
    again = pb.CreateMigrationRequest(spec=first)
    assert code_of(lambda: stub.CreateMigration(again)) == grpc.StatusCode.ALREADY_EXISTS


def test_delete_only_when_ended(stub: pb_grpc.ControllerStub) -> None:
    ref = pb.MigrationRef(id=stub.CreateMigration(pb.CreateMigrationRequest(spec=spec())).id)
    assert code_of(lambda: stub.DeleteMigration(ref)) == grpc.StatusCode.FAILED_PRECONDITION

    assert stub.CancelMigration(ref).state == pb.CANCELLED
    assert code_of(lambda: stub.CancelMigration(ref)) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(lambda: stub.StartMigration(ref)) == grpc.StatusCode.FAILED_PRECONDITION
    events = list(stub.WatchMigration(ref))
    assert events[-1].state == pb.CANCELLED
    assert all(e.migration_id == ref.id and e.kind for e in events)

    stub.DeleteMigration(ref)
    assert code_of(lambda: stub.GetMigration(ref)) == grpc.StatusCode.NOT_FOUND


def test_a_migration_whose_agents_are_down_fails_validation(
    stub: pb_grpc.ControllerStub,
) -> None:
    created = stub.CreateMigration(pb.CreateMigrationRequest(spec=spec(), start=True))
    ref = pb.MigrationRef(id=created.id)
    events = list(stub.WatchMigration(ref))
    assert events[-1].state in TERMINAL
    ended = stub.GetMigration(ref)
    assert ended.state == pb.FAILED
    assert ended.error
    assert [s.name for s in ended.steps][:1] == ["validate"]
    assert ended.bytes_transferred == 0
    # A failed migration no longer blocks its stack.
    stub.CreateMigration(pb.CreateMigrationRequest(spec=ended.spec))


def test_ping_agent_reports_an_unreachable_agent_without_failing(
    stub: pb_grpc.ControllerStub,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    reply = stub.PingAgent(pb.PingAgentRequest(address=address))
    assert not reply.reachable
    assert reply.error
    bad = pb.PingAgentRequest(address="nowhere")
    reply = stub.PingAgent(bad)
    assert not reply.reachable
    assert "HOST:PORT" in reply.error


def test_health_and_reflection_answer(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE_NAME):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = list(
        reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
    )
    names = {s.name for s in replies[0].list_services_response.service}
    assert SERVICE_NAME in names
    assert "grpc.health.v1.Health" in names


def test_mutual_tls_serves_clients_of_the_ca_only(tmp_path: Path) -> None:
    ca_dir = tmp_path / "pki"
    ca = certs.make_ca(ca_dir).cert
    server_pair = certs.issue_cert(ca_dir, "controller", ["127.0.0.1", "localhost"])
    client_pair = certs.issue_cert(ca_dir, "operator", ["operator.test"])
    config = ControllerConfig(
        listen="127.0.0.1:0",
        tls_cert=str(server_pair.cert),
        tls_key=str(server_pair.key),
        tls_ca=str(ca),
    )
    store = SqlMigrationStore(f"sqlite:///{tmp_path / 'controller.db'}")
    service = ControllerService(store, AgentDialer(None), owner_id="tls-test")
    server = ControllerServer(config, service)
    try:
        trusted = channel_credentials(ca, client_pair.cert, client_pair.key)
        with open_channel(server.address, trusted) as chan:
            reply = pb_grpc.ControllerStub(chan).ListMigrations(pb.ListMigrationsRequest())
            assert list(reply.migrations) == []
        anonymous = channel_credentials(ca)
        with open_channel(server.address, anonymous) as chan:
            stub = pb_grpc.ControllerStub(chan)
            request = pb.ListMigrationsRequest()
            assert code_of(stub.ListMigrations, request, timeout=5) == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(grace=1)
        service.shutdown()
        store.close()
