"""The MigrationStore contract, run against every backend (SQLite file and PostgreSQL)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from stackferry.controller.domain.model import (
    CarriedFilePlan,
    DatasetPlan,
    Event,
    EventKind,
    FileMove,
    Migration,
    MigrationOptions,
    MigrationSpec,
    MigrationState,
    MountEntry,
    Mover,
    PathMapping,
    SnapshotRecord,
    SourceProject,
    Step,
    StepState,
    new_migration,
)
from stackferry.controller.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    LeaseHeld,
    LeaseLost,
    NotFound,
)
from stackferry.controller.store import rows
from stackferry.controller.store.base import MigrationStore
from stackferry.controller.store.sql import ALEMBIC_INI, SqlMigrationStore
from stackferry.controller.store.tables import metadata, migrations
from stackferry.hostapi import ProjectFile

StoreFactory = Callable[[], SqlMigrationStore]


def a_spec(
    compose_path: str = "/srv/app/docker-compose.yml", source: str = "a:7000"
) -> MigrationSpec:
    return MigrationSpec(
        name="move app",
        compose_path=compose_path,
        source_agent=source,
        target_agent="b:7000",
        target_dataset="tank/stacks",
        target_base="/tank/stacks",
        project_name="app",
        options=MigrationOptions(
            keep_snapshots=True,
            verify_timeout_seconds=30,
            bandwidth_limit_bytes_per_second=10_000_000,
            path_maps=(PathMapping("/srv/app/conf", "/tank/stacks/app/conf"),),
        ),
    )


def a_migration(compose_path: str = "/srv/app/docker-compose.yml") -> Migration:
    return new_migration(a_spec(compose_path), now=time.time())


def finish(store: MigrationStore, migration: Migration, state: MigrationState) -> Migration:
    return store.save(dataclasses.replace(migration, state=state))


def test_the_alembic_schema_matches_the_tables(store: SqlMigrationStore) -> None:
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_reopening_keeps_the_data_and_the_schema(
    open_store: StoreFactory, store: SqlMigrationStore
) -> None:
    created = store.create(a_migration())
    store.close()
    assert open_store().get(created.id) == created


def test_create_and_get_round_trip_every_field(store: MigrationStore) -> None:
    migration = a_migration()
    migration.compose_text = "services:\n  web:\n    image: local/busybox:1\n"
    migration.env_text = "DATA=/srv/app/data\n"
    migration.datasets = [DatasetPlan("src/app", "/srv/app", "tank/stacks/app", "/tank/x", 42, 40)]
    options = dataclasses.replace(
        migration.spec.options, excludes=("cache", "/srv/app/tmp"), allow_overwrite=True
    )
    migration.spec = dataclasses.replace(
        migration.spec,
        options=options,
        compose_files=("/srv/app/docker-compose.yml", "/srv/app/prod.yml"),
        env_files=("/srv/app/prod.env",),
    )
    migration.source_project = SourceProject(
        "/srv/app",
        ("/srv/app/docker-compose.yml", "/srv/app/prod.yml"),
        ("/srv/app/prod.env",),
        ("debug",),
        ("db", "web"),
        "explicit",
        (
            ProjectFile("/srv/app/prod.yml", "compose", "prod.yml", b"services: {}\n"),
            ProjectFile(
                "/srv/secret", "secret", "", b"\xff\x00binary", "/srv/app/prod.yml", mode=0o600
            ),
        ),
    )
    migration.carried_files = [
        CarriedFilePlan(
            "compose", "/srv/app/prod.yml", "/b/app/prod.yml", "prod.yml", True, "-a\n+b\n"
        ),
        CarriedFilePlan("secret", "/srv/secret", "/srv/secret"),
    ]
    migration.files = [
        FileMove("/srv/plain", source_path="/srv/plain", target_path="/b/plain", bytes_moved=9),
        FileMove(
            "volume app_db",
            source_volume="app_db",
            target_volume="app_db",
            volume_driver="local",
            volume_options={"type": "tmpfs"},
            volume_labels={"com.docker.compose.project": "app"},
            estimated_bytes=20,
        ),
    ]
    migration.mounts = [
        MountEntry("db", "/var/lib/db", "volume app_db", Mover.FILES, "a named volume", 20),
        MountEntry("web", "/cache", "volume app_cache", Mover.EXCLUDED, "excluded"),
    ]
    migration.snapshots = [SnapshotRecord("source", "src/app", "sf-1", "123456789", 1.5)]
    migration.step("validate").state = StepState.DONE
    migration.step("snapshot").bytes_expected = 7
    migration.pending_action = "validate"
    migration.downtime_seconds = 1.25
    migration.source_stopped_at = 10.0
    migration.target_serving_at = 11.25
    migration.bytes_transferred = 2**40

    created = store.create(migration)

    assert created.version == 1
    assert store.get(migration.id) == created
    assert dataclasses.replace(created, version=0) == migration


def test_get_unknown_is_not_found(store: MigrationStore) -> None:
    with pytest.raises(NotFound):
        store.get("nope")


def test_create_refuses_a_taken_id(store: MigrationStore) -> None:
    migration = store.create(a_migration())
    with pytest.raises(AlreadyExists):
        store.create(dataclasses.replace(migration, spec=a_spec("/srv/other/compose.yml")))


def test_create_refuses_a_second_running_migration_of_the_same_stack(
    store: MigrationStore,
) -> None:
    first = store.create(a_migration())
    with pytest.raises(AlreadyExists, match=first.id):
        store.create(a_migration())
    other_host = new_migration(a_spec(source="c:7000"), now=time.time())
    assert store.create(other_host).version == 1


def test_a_finished_migration_frees_its_stack(store: MigrationStore) -> None:
    first = store.create(a_migration())
    finish(store, first, MigrationState.ROLLED_BACK)
    assert store.create(a_migration()).state == MigrationState.PENDING


def test_save_is_compare_and_set(store: MigrationStore) -> None:
    created = store.create(a_migration())
    moved = store.save(dataclasses.replace(created, state=MigrationState.VALIDATING))
    assert moved.version == 2
    assert store.get(created.id).state == MigrationState.VALIDATING

    stale = dataclasses.replace(created, state=MigrationState.CANCELLED)
    with pytest.raises(Conflict) as refused:
        store.save(stale, event=Event(created.id, time.time(), EventKind.STATE, stale.state))
    assert not isinstance(refused.value, LeaseLost)
    assert store.get(created.id) == moved
    assert store.list_events(created.id) == []


def test_save_writes_the_transition_and_its_event_together(store: MigrationStore) -> None:
    created = store.create(a_migration())
    created.state = MigrationState.SNAPSHOTTING
    created.pending_action = "snapshot"
    created.snapshots.append(SnapshotRecord("source", "src/app", "sf-1", "99"))
    created.step("snapshot").state = StepState.RUNNING
    event = Event(created.id, time.time(), EventKind.STATE, MigrationState.SNAPSHOTTING)

    saved = store.save(created, event=event)

    assert store.get(created.id) == saved
    (logged,) = store.list_events(created.id)
    assert dataclasses.replace(logged, id=0) == event


def test_an_event_keeps_its_typed_progress(store: MigrationStore) -> None:
    created = store.create(a_migration())
    progress = Event(
        created.id,
        time.time(),
        EventKind.PROGRESS,
        MigrationState.BULK_SENDING,
        "bulk_send",
        "for people",
        bytes_done=2**40 + 1,
        bytes_expected=2**41,
    )
    appended = store.append_event(progress)
    assert store.list_events(created.id) == [appended]
    assert dataclasses.replace(appended, id=0) == progress


def test_save_of_an_unknown_migration_is_not_found(store: MigrationStore) -> None:
    with pytest.raises(NotFound):
        store.save(a_migration())


def test_two_controllers_cannot_both_advance_from_the_same_read(
    open_store: StoreFactory,
) -> None:
    first, second = open_store(), open_store()
    created = first.create(a_migration())
    read_by_second = second.get(created.id)
    first.save(dataclasses.replace(created, state=MigrationState.VALIDATING))
    with pytest.raises(Conflict):
        second.save(dataclasses.replace(read_by_second, state=MigrationState.CANCELLED))
    assert second.get(created.id).state == MigrationState.VALIDATING


def test_concurrent_saves_from_one_version_let_exactly_one_win(open_store: StoreFactory) -> None:
    stores = [open_store() for _ in range(4)]
    created = stores[0].create(a_migration())
    start = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def advance(store: SqlMigrationStore) -> None:
        start.wait()
        try:
            store.save(dataclasses.replace(created, state=MigrationState.VALIDATING))
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=advance, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    assert stores[0].get(created.id).version == 2


def test_list_filters_by_state_and_pages_newest_first(store: MigrationStore) -> None:
    made = [store.create(a_migration(f"/srv/app{i}/compose.yml")) for i in range(5)]
    finish(store, made[1], MigrationState.COMPLETED)
    finish(store, made[3], MigrationState.FAILED)

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = store.list_migrations(page_size=2, page_token=token)
        seen += [m.id for m in page.migrations]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == [m.id for m in reversed(made)]
    assert pages == 3

    ended = store.list_migrations(states=[MigrationState.COMPLETED, MigrationState.FAILED])
    assert [m.id for m in ended.migrations] == [made[3].id, made[1].id]
    assert ended.next_page_token == ""


def test_count_by_state_counts_every_migration_once(store: MigrationStore) -> None:
    assert store.count_by_state() == {}
    made = [store.create(a_migration(f"/srv/app{i}/compose.yml")) for i in range(3)]
    finish(store, made[0], MigrationState.COMPLETED)
    assert store.count_by_state() == {MigrationState.PENDING: 2, MigrationState.COMPLETED: 1}


@pytest.mark.parametrize("token", ["garbage", "c2VxOng=", "!!"])
def test_list_refuses_a_malformed_page_token(store: MigrationStore, token: str) -> None:
    with pytest.raises(InvalidArgument):
        store.list_migrations(page_token=token)


def test_list_refuses_a_negative_page_size(store: MigrationStore) -> None:
    with pytest.raises(InvalidArgument):
        store.list_migrations(page_size=-1)


def test_events_come_back_in_order_after_an_id(store: MigrationStore) -> None:
    one = store.create(a_migration())
    two = store.create(a_migration("/srv/two/compose.yml"))
    appended = [
        store.append_event(
            Event(m.id, time.time(), EventKind.LOG, MigrationState.PENDING, message=f"#{i}")
        )
        for i, m in enumerate([one, two, one, one])
    ]
    ids = [e.id for e in appended]
    assert ids == sorted(ids) and len(set(ids)) == 4

    assert store.list_events(one.id) == [appended[0], appended[2], appended[3]]
    assert store.list_events(one.id, after_id=appended[2].id) == [appended[3]]
    assert store.list_events(one.id, after_id=appended[3].id) == []
    assert store.list_events(one.id, limit=1) == [appended[0]]


def test_events_of_an_unknown_migration_are_not_found(store: MigrationStore) -> None:
    with pytest.raises(NotFound):
        store.append_event(Event("nope", time.time(), EventKind.LOG, MigrationState.PENDING))
    with pytest.raises(NotFound):
        store.list_events("nope")


def test_upsert_step_records_progress_without_a_new_version(store: MigrationStore) -> None:
    created = store.create(a_migration())
    store.upsert_step(created.id, Step("validate", StepState.DONE, 1.0, 2.0))
    store.upsert_step(created.id, Step("bulk_send", StepState.RUNNING, 3.0, bytes_expected=100))
    store.upsert_step(created.id, Step("bulk_send", StepState.RUNNING, 3.0, bytes_done=60))

    stored = store.get(created.id)
    assert stored.version == created.version
    assert stored.steps == [
        Step("validate", StepState.DONE, 1.0, 2.0),
        Step("bulk_send", StepState.RUNNING, 3.0, bytes_done=60),
    ]
    with pytest.raises(NotFound):
        store.upsert_step("nope", Step("validate"))


def test_delete_only_a_finished_migration(store: MigrationStore) -> None:
    created = store.create(a_migration())
    with pytest.raises(FailedPrecondition):
        store.delete(created.id)

    created.step("validate").state = StepState.FAILED
    created.snapshots.append(SnapshotRecord("source", "src/app", "sf-1"))
    failed = finish(store, created, MigrationState.FAILED)
    store.append_event(Event(created.id, time.time(), EventKind.STATE, failed.state))
    store.delete(created.id)

    with pytest.raises(NotFound):
        store.get(created.id)
    with pytest.raises(NotFound):
        store.list_events(created.id)
    with pytest.raises(NotFound):
        store.delete(created.id)


def test_two_controllers_cannot_both_hold_the_lease(open_store: StoreFactory) -> None:
    first, second = open_store(), open_store()
    migration = first.create(a_migration())

    lease = first.acquire_lease(migration.id, "controller-1", ttl_seconds=60)
    assert lease.owner == "controller-1"
    with pytest.raises(LeaseHeld) as refused:
        second.acquire_lease(migration.id, "controller-2", ttl_seconds=60)
    assert refused.value.owner == "controller-1"

    again = first.acquire_lease(migration.id, "controller-1", ttl_seconds=120)
    assert again.expires_at >= lease.expires_at

    first.release_lease(migration.id, "controller-1")
    assert second.acquire_lease(migration.id, "controller-2", ttl_seconds=60).owner == (
        "controller-2"
    )
    with pytest.raises(LeaseLost):
        first.renew_lease(migration.id, "controller-1", ttl_seconds=60)


def test_racing_controllers_get_the_lease_exactly_once(open_store: StoreFactory) -> None:
    stores = [open_store() for _ in range(4)]
    migration = stores[0].create(a_migration())
    start = threading.Barrier(len(stores))
    winners: list[str] = []

    def race(index: int) -> None:
        start.wait()
        with contextlib.suppress(LeaseHeld):
            winners.append(stores[index].acquire_lease(migration.id, f"c{index}", 60).owner)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def wait_until_expired(expires_at: float) -> None:
    while time.time() <= expires_at:
        time.sleep(max(expires_at - time.time(), 0) + 0.01)


def test_an_expired_lease_can_be_taken_over(open_store: StoreFactory) -> None:
    first, second = open_store(), open_store()
    migration = first.create(a_migration())
    lease = first.acquire_lease(migration.id, "controller-1", ttl_seconds=0.2)
    wait_until_expired(lease.expires_at)

    assert second.acquire_lease(migration.id, "controller-2", ttl_seconds=60).owner == (
        "controller-2"
    )
    with pytest.raises(LeaseLost):
        first.renew_lease(migration.id, "controller-1", ttl_seconds=60)
    advanced = dataclasses.replace(migration, state=MigrationState.VALIDATING)
    with pytest.raises(LeaseLost):
        first.save(advanced, lease_owner="controller-1")


def test_an_expired_lease_nobody_took_can_be_renewed(store: MigrationStore) -> None:
    migration = store.create(a_migration())
    lease = store.acquire_lease(migration.id, "controller-1", ttl_seconds=0.2)
    wait_until_expired(lease.expires_at)
    renewed = store.renew_lease(migration.id, "controller-1", ttl_seconds=60)
    assert renewed.expires_at > lease.expires_at


def test_save_with_a_lease_needs_a_live_lease(store: MigrationStore) -> None:
    migration = store.create(a_migration())
    advanced = dataclasses.replace(migration, state=MigrationState.VALIDATING)
    with pytest.raises(LeaseLost):
        store.save(advanced, lease_owner="controller-1")
    store.acquire_lease(migration.id, "controller-1", ttl_seconds=60)
    assert store.save(advanced, lease_owner="controller-1").version == 2


def test_lease_refusals(store: MigrationStore) -> None:
    migration = store.create(a_migration())
    with pytest.raises(InvalidArgument):
        store.acquire_lease(migration.id, "controller-1", ttl_seconds=0)
    with pytest.raises(NotFound):
        store.acquire_lease(uuid.uuid4().hex, "controller-1", ttl_seconds=60)
    with pytest.raises(NotFound):
        store.renew_lease(uuid.uuid4().hex, "controller-1", ttl_seconds=60)


def test_a_release_by_another_owner_leaves_the_lease_held(store: MigrationStore) -> None:
    migration = store.create(a_migration())
    lease = store.acquire_lease(migration.id, "controller-1", ttl_seconds=60)
    store.release_lease(migration.id, "not-the-owner")
    with pytest.raises(LeaseHeld) as refused:
        store.acquire_lease(migration.id, "controller-2", ttl_seconds=60)
    assert refused.value.owner == "controller-1"
    renewed = store.renew_lease(migration.id, "controller-1", ttl_seconds=60)
    assert renewed.owner == "controller-1" and renewed.expires_at >= lease.expires_at


def test_the_store_satisfies_the_protocol(store: SqlMigrationStore) -> None:
    typed: MigrationStore = store
    assert typed.list_migrations().migrations == []


def test_the_schema_is_versioned_by_alembic(store: SqlMigrationStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0006"


def test_a_database_of_the_first_schema_is_upgraded_in_place(store_url: str) -> None:
    """Migrations and an event written by a controller of schema 0001: specs still held a
    transfer method, and a failure before the stop was FAILED while it owed the discard
    (FAILING now). They read back as they were otherwise; the old event has no bytes."""
    running = a_migration()
    failed = dataclasses.replace(
        a_migration("/srv/other/compose.yml"), state=MigrationState.FAILED, pending_action="discard"
    )
    columns = ("migration_id", "time", "kind", "state", "step", "message")
    old_events = sa.table("events", *(sa.column(c) for c in columns))
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            config = Config(str(ALEMBIC_INI))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            for m in (running, failed):
                values = rows.migration_values(m)
                del values["waiting"]  # a column of 0003
                del values["files"], values["mounts"]  # columns of 0004
                del values["downtime_report"], values["converge_rounds"]  # columns of 0005
                del values["moved_bytes"]
                del values["source_project"], values["carried_files"]  # columns of 0006
                options = dict(values["spec"]["options"])
                del options["keep_target_on_failure"]  # an option added later
                del options["excludes"], options["allow_overwrite"]  # options of 0004's time
                del options["converge_max_rounds"], options["converge_target_seconds"]
                del options["final_parallelism"]  # options of 0005's time
                spec = {k: v for k, v in values["spec"].items() if not k.endswith("_files")}
                values["spec"] = {**spec, "options": options}  # the -f lists came with 0006
                values["spec"]["transfer_method"] = "zfs_send"
                conn.execute(migrations.insert().values(**values, version=1))
            conn.execute(
                old_events.insert().values(
                    migration_id=running.id,
                    time=1.5,
                    kind="log",
                    state="PENDING",
                    step="",
                    message="written by 0001",
                )
            )
    finally:
        engine.dispose()

    store = SqlMigrationStore(store_url)
    try:
        assert store.get(running.id) == dataclasses.replace(running, version=1)
        failing = dataclasses.replace(failed, state=MigrationState.FAILING, version=1)
        assert store.get(failed.id) == failing
        (event,) = store.list_events(running.id)
        assert (event.message, event.bytes_done, event.bytes_expected) == ("written by 0001", 0, 0)
    finally:
        store.close()
