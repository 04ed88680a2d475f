"""The HTTP API's JSON shapes: the specification's create body onto a MigrationSpec with the
controller's defaults, the status body's spec shape, and the one error table."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stackferry.controller import errors
from stackferry.controller.api.status import STATUS_OF
from stackferry.controller.domain.model import (
    Migration,
    MigrationState,
    PathMapping,
    Step,
    StepState,
)
from stackferry.controller.domain.progress import status_of
from stackferry.controller.http import convert, shapes
from stackferry.controller.http.errors import HTTP_STATUS_OF

SPEC_BODY = {
    "name": "Production App Migration",
    "compose_stack_path": "/apps/prod/docker-compose.yml",
    "target_host": "backup-server.example.com",
    "target_base_path": "/data/migrations/prod",
    "use_zfs": True,
    "transfer_method": "zfs_send",
}
DEFAULTS = convert.SpecDefaults(local_agent="127.0.0.1:7701", default_target_dataset="tank/in")


def create(**changes: Any) -> shapes.CreateMigration:
    return shapes.CreateMigration.model_validate({**SPEC_BODY, **changes})


def test_the_specifications_body_as_written() -> None:
    spec = convert.spec_from_create(create(), DEFAULTS)
    assert spec.name == "Production App Migration"
    assert spec.compose_path == "/apps/prod/docker-compose.yml"
    assert spec.target_agent == "backup-server.example.com:7701"  # the agent's default port
    assert spec.source_agent == "127.0.0.1:7701"  # local_agent
    assert spec.target_dataset == "tank/in"  # default_target_dataset
    assert spec.target_base == "/data/migrations/prod"


def test_our_own_fields_override_the_defaults() -> None:
    body = create(
        target_host="10.0.0.2:7800",
        source_agent="10.0.0.1",
        target_dataset="pool/x",
        project_name="prod",
        path_maps=[{"source": "/srv/a", "target": "/srv/b"}],
        options={"keep_snapshots": True, "bandwidth_limit_bytes_per_second": 1000},
    )
    spec = convert.spec_from_create(body, DEFAULTS)
    assert (spec.source_agent, spec.target_agent) == ("10.0.0.1:7701", "10.0.0.2:7800")
    assert (spec.target_dataset, spec.project_name) == ("pool/x", "prod")
    assert spec.options.path_maps == (PathMapping("/srv/a", "/srv/b"),)
    assert spec.options.keep_snapshots and spec.options.bandwidth_limit_bytes_per_second == 1000
    assert spec.options.verify_timeout_seconds == 120  # 0 = the default


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("db1", "db1:7701"),
        ("db1:9000", "db1:9000"),
        ("[fd00::1]", "[fd00::1]:7701"),
        ("[fd00::1]:9000", "[fd00::1]:9000"),
        ("fd00::1", "[fd00::1]:7701"),
    ],
)
def test_a_host_without_a_port_gets_the_agents_default(host: str, address: str) -> None:
    assert convert.agent_address(host) == address


@pytest.mark.parametrize("field", ["name", "compose_stack_path", "target_host", "target_base_path"])
def test_a_missing_field_is_named(field: str) -> None:
    body = shapes.CreateMigration.model_validate({k: v for k, v in SPEC_BODY.items() if k != field})
    with pytest.raises(convert.MissingField) as caught:
        convert.spec_from_create(body, DEFAULTS)
    assert caught.value.field == field and field in str(caught.value)


@pytest.mark.parametrize(
    ("field", "config_key"),
    [("source_agent", "local_agent"), ("target_dataset", "default_target_dataset")],
)
def test_a_default_the_config_lacks_is_named_with_its_key(field: str, config_key: str) -> None:
    with pytest.raises(convert.MissingField) as caught:
        convert.spec_from_create(create(), dataclasses.replace(DEFAULTS, **{config_key: ""}))
    assert caught.value.field == field and config_key in str(caught.value)


def test_only_zfs_send_is_accepted() -> None:
    with pytest.raises(errors.InvalidArgument, match="use_zfs"):
        convert.spec_from_create(create(use_zfs=False), DEFAULTS)
    with pytest.raises(errors.InvalidArgument, match="rsync"):
        convert.spec_from_create(create(transfer_method="rsync"), DEFAULTS)


def test_the_status_body_carries_the_specifications_shape() -> None:
    spec = convert.spec_from_create(create(), DEFAULTS)
    migration = Migration(id="m1", spec=spec, state=MigrationState.BULK_SENDING)
    migration.steps = [
        Step("validate", StepState.DONE, started_at=10.0, ended_at=11.5),
        Step("bulk_send", StepState.RUNNING, started_at=12.0, bytes_done=50, bytes_expected=200),
    ]
    status = status_of(migration, now=22.0)
    body = convert.status_to_json(status, migration.steps).model_dump()
    assert {"id", "status", "progress_percentage", "current_step"} <= set(body)
    assert "estimated_remaining_seconds" in body
    assert body["status"] == "BULK_SENDING"
    assert body["current_step"] == {"name": "bulk_send", "status": "running", "progress": 25.0}
    assert body["estimated_remaining_seconds"] == pytest.approx(30.0)  # 150 B at 5 B/s
    assert body["rate_bytes_per_second"] == pytest.approx(5.0)
    assert body["steps"][0]["duration_seconds"] == pytest.approx(1.5)
    assert body["steps"][1]["duration_seconds"] is None
    assert body["downtime_seconds"] is None


def test_the_migration_body_names_the_spec_as_the_specification_does() -> None:
    spec = convert.spec_from_create(create(), DEFAULTS)
    body = convert.migration_to_json(Migration(id="m1", spec=spec)).model_dump()
    assert body["status"] == "PENDING"
    assert body["spec"]["compose_stack_path"] == SPEC_BODY["compose_stack_path"]
    assert body["spec"]["target_host"] == "backup-server.example.com:7701"
    assert body["spec"]["target_base_path"] == SPEC_BODY["target_base_path"]
    # What the API returns as a spec, it accepts back as a create body.
    again = shapes.CreateMigration.model_validate(
        {k: v for k, v in body["spec"].items() if k != "options"}
    )
    assert convert.spec_from_create(again, convert.SpecDefaults()) == spec


def test_states_filter() -> None:
    assert convert.states_from_query("completed, FAILED") == (
        MigrationState.COMPLETED,
        MigrationState.FAILED,
    )
    assert convert.states_from_query("") == ()
    with pytest.raises(errors.InvalidArgument, match="DONE"):
        convert.states_from_query("DONE")


def test_every_domain_error_has_an_http_status_through_the_grpc_table() -> None:
    expected = {
        errors.NotFound: 404,
        errors.AlreadyExists: 409,
        errors.FailedPrecondition: 409,
        errors.InvalidArgument: 422,
        errors.Conflict: 409,
        errors.Unavailable: 503,
    }
    assert set(expected) == set(STATUS_OF)
    for error, status in expected.items():
        assert HTTP_STATUS_OF[STATUS_OF[error]] == status
