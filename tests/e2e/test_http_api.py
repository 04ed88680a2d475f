"""The HTTP API of the specification against a real controller process, real agents, real
zfs-fuse pools and the two real Docker engines. Every response body is checked against the
controller's own /api/v1/openapi.json."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from http_world import (
    HttpController,
    Schema,
    end_the_waiting_deploy,
    launch_http_controller,
    sse_events,
)
from migration_world import (
    ENDED,
    World,
    assert_migrated,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
)

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

API = "/api/v1/migrations"
# Every state a migration that succeeds passes through, in order.
HAPPY_PATH = [
    "PENDING",
    "VALIDATING",
    "SNAPSHOTTING",
    "BULK_SENDING",
    "STOPPING_SOURCE",
    "FINAL_SNAPSHOTTING",
    "INCREMENTAL_SENDING",
    "DEPLOYING",
    "VERIFYING",
    "CLEANING_UP",
    "COMPLETED",
]


def spec_body(world: World) -> dict[str, Any]:
    """The specification's create request, as it is written there, for the world's stack."""
    return {
        "name": "Production App Migration",
        "compose_stack_path": str(world.compose_path),
        "target_host": world.target.address,
        "target_base_path": str(world.target_base),
        "use_zfs": True,
        "transfer_method": "zfs_send",
    }


def poll_status(
    client: httpx.Client,
    schema: Schema,
    migration_id: str,
    reached: Callable[[dict[str, Any]], bool],
    timeout: float = 180,
) -> list[dict[str, Any]]:
    """GET .../status until `reached`; every body seen, each checked against the schema."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{API}/{migration_id}/status")
        assert response.status_code == 200, response.text
        seen.append(schema.reply(response))
        if reached(seen[-1]):
            return seen
        assert seen[-1]["status"] not in ENDED, f"{seen[-1]['status']}: {seen[-1]['error']}"
        assert time.monotonic() < deadline, seen[-1]
        time.sleep(0.2)


def assert_error(
    response: httpx.Response, status: int, code: str, schema: Schema
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = schema.reply(response)
    assert body["code"] == code, body
    assert body["message"], body
    return body


@pytest.fixture
def http_controller(
    make_world: Callable[..., World], tmp_path: Path
) -> Iterator[tuple[World, HttpController]]:
    world = make_world()
    controller = launch_http_controller(tmp_path, world=world)
    yield world, controller
    controller.stop()


def test_the_specifications_create_body_migrates_the_stack(
    http_controller: tuple[World, HttpController],
) -> None:
    world, controller = http_controller
    with httpx.Client(base_url=controller.url, timeout=60) as client:
        schema = Schema(client)
        created = client.post(API, json=spec_body(world))
        assert created.status_code == 201, created.text
        migration = schema.reply(created)
        # The defaults of the controller's config fill what the spec's body leaves out.
        assert migration["spec"]["source_agent"] == world.source.address
        assert migration["spec"]["target_dataset"] == world.target_dataset
        assert migration["spec"]["target_host"] == world.target.address
        assert migration["status"] == "PENDING"
        migration_id = migration["id"]

        stream: list[tuple[str, str, str]] = []
        reader = threading.Thread(
            target=lambda: stream.extend(
                sse_events(httpx.Client(base_url=controller.url), f"{API}/{migration_id}/events")
            )
        )
        reader.start()

        started = client.post(f"{API}/{migration_id}/start")
        assert started.status_code == 200, started.text
        assert schema.reply(started)["status"] != "PENDING"
        statuses = poll_status(client, schema, migration_id, lambda s: s["status"] == "COMPLETED")
        reader.join(timeout=60)
        assert not reader.is_alive()

        final = statuses[-1]
        assert final["progress_percentage"] == 100
        assert final["current_step"]["name"] == "cleanup"
        assert final["downtime_seconds"] is not None and final["downtime_seconds"] > 0
        assert [s["name"] for s in final["steps"]][:3] == ["validate", "snapshot", "bulk_send"]
        assert all(s["status"] == "done" for s in final["steps"])
        assert final["bytes_done"] > 0
        assert_migrated(world)

        # The stream: the state changes in the order they happened, then `end`.
        assert stream[-1][1] == "end"
        events = [schema.check("Event", json.loads(data)) for _, kind, data in stream[:-1]]
        ids = [e["id"] for e in events]
        assert ids == sorted(set(ids)) and [int(i) for i, _, _ in stream[:-1]] == ids
        states = [e["status"] for e in events if e["kind"] == "state"]
        assert [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]] == HAPPY_PATH
        assert events[-1]["progress"]["status"] == "COMPLETED"

        # A client that reconnects with Last-Event-ID gets exactly what came after it.
        with httpx.Client(base_url=controller.url) as again:
            resumed = list(sse_events(again, f"{API}/{migration_id}/events", ids[4]))
        assert [int(i) for i, kind, _ in resumed if kind == "migration"] == ids[5:]

        # Details, list with its filter, then the wrong-state errors of an ended migration.
        details = schema.reply(client.get(f"{API}/{migration_id}"))
        assert details["status"] == "COMPLETED" and details["bytes_transferred"] > 0
        completed = schema.reply(client.get(API, params={"state": "COMPLETED"}))
        assert [m["id"] for m in completed["migrations"]] == [migration_id]
        failed = schema.reply(client.get(API, params={"state": "failed"}))
        assert failed["migrations"] == []
        assert_error(client.post(f"{API}/{migration_id}/start"), 409, "failed_precondition", schema)
        assert_error(
            client.post(f"{API}/{migration_id}/cancel"), 409, "failed_precondition", schema
        )

        assert client.delete(f"{API}/{migration_id}").status_code == 204
        assert_error(client.get(f"{API}/{migration_id}"), 404, "not_found", schema)
        assert_error(client.delete(f"{API}/{migration_id}"), 404, "not_found", schema)


def test_bad_requests_get_their_status_codes(
    http_controller: tuple[World, HttpController],
) -> None:
    world, controller = http_controller
    with httpx.Client(base_url=controller.url, timeout=60) as client:
        schema = Schema(client)
        body = spec_body(world)
        del body["target_base_path"]
        missing = assert_error(client.post(API, json=body), 422, "invalid_argument", schema)
        assert missing["field"] == "target_base_path"
        assert "target_base_path" in missing["message"]

        not_json = client.post(API, content=b"{name:", headers={"Content-Type": "application/json"})
        assert_error(not_json, 400, "bad_request", schema)
        typo = assert_error(
            client.post(API, json={**spec_body(world), "use_zfz": True}),
            422,
            "invalid_argument",
            schema,
        )
        assert typo["field"] == "use_zfz"
        relative = assert_error(
            client.post(API, json={**spec_body(world), "compose_stack_path": "apps/x.yml"}),
            422,
            "invalid_argument",
            schema,
        )
        assert "compose_path" in relative["message"]
        assert_error(client.get(API, params={"state": "DONE"}), 422, "invalid_argument", schema)
        assert_error(client.get(f"{API}/no-such-id/status"), 404, "not_found", schema)
        assert_error(client.post(f"{API}/no-such-id/start"), 404, "not_found", schema)
        events = client.get(f"{API}/no-such-id/events")
        assert_error(events, 404, "not_found", schema)

        # An agent that cannot be reached: nothing listens on that port.
        nowhere = {**spec_body(world), "source_agent": f"127.0.0.1:{free_port()}"}
        assert_error(client.post(f"{API}/plan", json=nowhere), 503, "unavailable", schema)

        # Validate and plan of the real stack answer with every check and the plan.
        report = schema.reply(client.post(f"{API}/validate", json=spec_body(world)))
        assert report["ok"], report
        assert {"agents_reachable", "compose_parses"} <= {c["name"] for c in report["checks"]}
        plan = schema.reply(client.post(f"{API}/plan", json=spec_body(world)))
        assert [d["source_dataset"] for d in plan["datasets"]] == [world.dataset]
        assert str(world.target_base) in plan["compose_diff"]


@pytest.fixture
def slow_controller(
    make_world: Callable[..., World], tmp_path: Path
) -> Iterator[tuple[World, HttpController]]:
    """The target's stack reports healthy only after 600 s: a migration waits in DEPLOYING
    with the source stopped (for about a minute, until the health check gives up, unless the
    test ends that wait: end_the_waiting_deploy)."""
    world = make_world(healthy_after=600)
    controller = launch_http_controller(tmp_path, world=world)
    yield world, controller
    controller.stop()


def test_cancel_after_the_source_stopped_brings_it_back(
    slow_controller: tuple[World, HttpController],
) -> None:
    world, controller = slow_controller
    with httpx.Client(base_url=controller.url, timeout=60) as client:
        schema = Schema(client)
        elsewhere = {**spec_body(world), "compose_stack_path": "/srv/other/docker-compose.yml"}
        other = client.post(API, json={**elsewhere, "name": "kept pending"})
        assert other.status_code == 201, other.text
        created = client.post(API, json={**spec_body(world), "start": True})
        assert created.status_code == 201, created.text
        again = client.post(API, json=spec_body(world))
        assert_error(again, 409, "already_exists", schema)
        migration_id = created.json()["id"]
        # The deploy waits for the target's health: the source has stopped by then.
        poll_status(
            client,
            schema,
            migration_id,
            lambda s: (
                s["status"] == "DEPLOYING"
                and not containers(world.docker_a, world.project, running_only=True)
            ),
        )

        assert_error(client.delete(f"{API}/{migration_id}"), 409, "failed_precondition", schema)
        first = schema.reply(client.get(API, params={"page_size": 1}))
        assert len(first["migrations"]) == 1 and first["next_page_token"]
        second = client.get(API, params={"page_size": 1, "page_token": first["next_page_token"]})
        ids = {first["migrations"][0]["id"], second.json()["migrations"][0]["id"]}
        assert ids == {migration_id, other.json()["id"]}
        running = client.get(API, params={"state": "DEPLOYING,VERIFYING"}).json()
        assert [m["id"] for m in running["migrations"]] == [migration_id]

        cancelled = client.post(f"{API}/{migration_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert schema.reply(cancelled)["status"] in ("CANCELLING", "CANCELLED")
        end_the_waiting_deploy(world)
        poll_status(client, schema, migration_id, lambda s: s["status"] == "CANCELLED")
        assert len(containers(world.docker_a, world.project, running_only=True)) == 1
        assert not containers(world.docker_b, world.project, running_only=True)
