"""The HTTP server in-process on port 0 beside the gRPC server, over one real ControllerService
on SQLite: both faces see the same migrations and report the same errors, and an event stream
lets go of its thread when the client leaves or the server stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.common.grpc_options import open_channel
from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import ControllerConfig, sqlite_url
from stackferry.controller.http.server import HttpServer
from stackferry.controller.server import ControllerServer
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

API = "/api/v1/migrations"
BODY = {
    "name": "pending forever",
    "compose_stack_path": "/srv/app/docker-compose.yml",
    "target_host": "127.0.0.1:1",
    "target_base_path": "/srv/migrated",
    "source_agent": "127.0.0.1:2",
    "target_dataset": "tank/in",
}


@dataclass
class Faces:
    http: HttpServer
    stub: pb_grpc.ControllerStub


@pytest.fixture
def faces(tmp_path: Path) -> Iterator[Faces]:
    config = ControllerConfig(insecure=True, listen="127.0.0.1:0", http_listen="127.0.0.1:0")
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    service = ControllerService(store, AgentDialer(), owner_id="rpc-http")
    grpc_server = ControllerServer(config, service)
    http = HttpServer(config, service)
    channel = open_channel(grpc_server.address, None)
    yield Faces(http, pb_grpc.ControllerStub(channel))
    channel.close()
    http.stop()
    grpc_server.stop(0)
    service.shutdown()
    store.close()


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("events-")]


def wait_until_no_stream_threads(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while stream_threads():
        assert time.monotonic() < deadline, stream_threads()
        time.sleep(0.05)


def test_both_faces_serve_the_same_migrations_and_errors(faces: Faces) -> None:
    with httpx.Client(base_url=faces.http.url) as client:
        created = client.post(API, json=BODY)
        assert created.status_code == 201, created.text
        migration_id = created.json()["id"]
        seen = faces.stub.GetMigration(pb.MigrationRef(id=migration_id))
        assert seen.spec.name == "pending forever" and seen.state == pb.PENDING
        assert seen.spec.target_agent == "127.0.0.1:1"

        faces.stub.CancelMigration(pb.MigrationRef(id=migration_id))
        assert client.get(f"{API}/{migration_id}").json()["status"] == "CANCELLED"
        # The same refusal on both faces: starting an ended migration.
        with pytest.raises(grpc.RpcError) as refused:
            faces.stub.StartMigration(pb.MigrationRef(id=migration_id))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        again = client.post(f"{API}/{migration_id}/start")
        assert again.status_code == 409 and again.json()["code"] == "failed_precondition"
        assert again.json()["message"] == refused.value.details()

        pending = client.post(API, json={**BODY, "compose_stack_path": "/srv/b/compose.yml"})
        pending_id = pending.json()["id"]
        with pytest.raises(grpc.RpcError) as never_started:
            faces.stub.ResumeMigration(pb.MigrationRef(id=pending_id))
        resumed = client.post(f"{API}/{pending_id}/resume")
        assert resumed.status_code == 409, resumed.text
        assert never_started.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert resumed.json()["message"] == never_started.value.details()
        assert client.post(f"{API}/no-such-id/resume").status_code == 404


def test_a_stream_lets_go_when_its_client_leaves(faces: Faces) -> None:
    with httpx.Client(base_url=faces.http.url, timeout=10) as client:
        migration_id = client.post(API, json=BODY).json()["id"]
        with client.stream("GET", f"{API}/{migration_id}/events") as response:
            # One iterator, kept: a discarded one is closed at once, and its close ends the
            # connection (httpcore closes the stream on GeneratorExit), so the client would
            # already have left when the stream's thread is looked for.
            lines = response.iter_lines()
            assert next(lines).startswith("id: ")  # the "created" event
            assert stream_threads()  # the migration is PENDING: the stream stays open
        wait_until_no_stream_threads()


def test_stopping_the_server_ends_open_streams(faces: Faces) -> None:
    with httpx.Client(base_url=faces.http.url, timeout=30) as client:
        migration_id = client.post(API, json=BODY).json()["id"]
        ended = threading.Event()

        def read() -> None:
            try:
                with client.stream("GET", f"{API}/{migration_id}/events") as response:
                    for _ in response.iter_lines():
                        pass
            except httpx.HTTPError:
                pass  # cut off: as good as closed
            ended.set()

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 10
        while not stream_threads():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        faces.http.stop()
        assert ended.wait(15)
        reader.join()
        wait_until_no_stream_threads()


def test_every_error_has_the_apis_error_shape(faces: Faces) -> None:
    with httpx.Client(base_url=faces.http.url) as client:
        unknown = client.get("/api/v1/nothing")
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
        wrong_method = client.put(API)
        assert wrong_method.status_code == 405
        assert wrong_method.json()["code"] == "method_not_allowed"
        paging = client.get(API, params={"page_size": 0})
        assert paging.status_code == 422 and paging.json()["field"] == "page_size"
        bad_token = client.get(API, params={"page_token": "not-a-token"})
        assert bad_token.status_code == 422, bad_token.text
        assert bad_token.json()["code"] == "invalid_argument"
