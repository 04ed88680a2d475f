from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MIGRATION_STATE_UNSPECIFIED: _ClassVar[MigrationState]
    PENDING: _ClassVar[MigrationState]
    VALIDATING: _ClassVar[MigrationState]
    SNAPSHOTTING: _ClassVar[MigrationState]
    BULK_SENDING: _ClassVar[MigrationState]
    STOPPING_SOURCE: _ClassVar[MigrationState]
    FINAL_SNAPSHOTTING: _ClassVar[MigrationState]
    INCREMENTAL_SENDING: _ClassVar[MigrationState]
    DEPLOYING: _ClassVar[MigrationState]
    VERIFYING: _ClassVar[MigrationState]
    CLEANING_UP: _ClassVar[MigrationState]
    COMPLETED: _ClassVar[MigrationState]
    ROLLING_BACK: _ClassVar[MigrationState]
    ROLLED_BACK: _ClassVar[MigrationState]
    CANCELLING: _ClassVar[MigrationState]
    CANCELLED: _ClassVar[MigrationState]
    FAILED: _ClassVar[MigrationState]
    FAILING: _ClassVar[MigrationState]
    NEEDS_ATTENTION: _ClassVar[MigrationState]
MIGRATION_STATE_UNSPECIFIED: MigrationState
PENDING: MigrationState
VALIDATING: MigrationState
SNAPSHOTTING: MigrationState
BULK_SENDING: MigrationState
STOPPING_SOURCE: MigrationState
FINAL_SNAPSHOTTING: MigrationState
INCREMENTAL_SENDING: MigrationState
DEPLOYING: MigrationState
VERIFYING: MigrationState
CLEANING_UP: MigrationState
COMPLETED: MigrationState
ROLLING_BACK: MigrationState
ROLLED_BACK: MigrationState
CANCELLING: MigrationState
CANCELLED: MigrationState
FAILED: MigrationState
FAILING: MigrationState
NEEDS_ATTENTION: MigrationState

class PathMapping(_message.Message):
    __slots__ = ("source", "target")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class MigrationOptions(_message.Message):
    __slots__ = ("keep_snapshots", "verify_timeout_seconds", "bandwidth_limit_bytes_per_second", "path_maps", "keep_target_on_failure", "excludes", "allow_overwrite", "stop_timeout_seconds", "compression", "converge_max_rounds", "converge_target_seconds", "final_parallelism")
    KEEP_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    VERIFY_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_LIMIT_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    PATH_MAPS_FIELD_NUMBER: _ClassVar[int]
    KEEP_TARGET_ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    CONVERGE_MAX_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    CONVERGE_TARGET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FINAL_PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    keep_snapshots: bool
    verify_timeout_seconds: int
    bandwidth_limit_bytes_per_second: int
    path_maps: _containers.RepeatedCompositeFieldContainer[PathMapping]
    keep_target_on_failure: bool
    excludes: _containers.RepeatedScalarFieldContainer[str]
    allow_overwrite: bool
    stop_timeout_seconds: int
    compression: str
    converge_max_rounds: int
    converge_target_seconds: float
    final_parallelism: int
    def __init__(self, keep_snapshots: _Optional[bool] = ..., verify_timeout_seconds: _Optional[int] = ..., bandwidth_limit_bytes_per_second: _Optional[int] = ..., path_maps: _Optional[_Iterable[_Union[PathMapping, _Mapping]]] = ..., keep_target_on_failure: _Optional[bool] = ..., excludes: _Optional[_Iterable[str]] = ..., allow_overwrite: _Optional[bool] = ..., stop_timeout_seconds: _Optional[int] = ..., compression: _Optional[str] = ..., converge_max_rounds: _Optional[int] = ..., converge_target_seconds: _Optional[float] = ..., final_parallelism: _Optional[int] = ...) -> None: ...

class MigrationSpec(_message.Message):
    __slots__ = ("name", "compose_path", "source_agent", "target_agent", "target_dataset", "target_base", "target_compose_dir", "transfer_method", "options", "project_name", "compose_files", "env_files")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_AGENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_AGENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATASET_FIELD_NUMBER: _ClassVar[int]
    TARGET_BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_COMPOSE_DIR_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_METHOD_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    name: str
    compose_path: str
    source_agent: str
    target_agent: str
    target_dataset: str
    target_base: str
    target_compose_dir: str
    transfer_method: str
    options: MigrationOptions
    project_name: str
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., compose_path: _Optional[str] = ..., source_agent: _Optional[str] = ..., target_agent: _Optional[str] = ..., target_dataset: _Optional[str] = ..., target_base: _Optional[str] = ..., target_compose_dir: _Optional[str] = ..., transfer_method: _Optional[str] = ..., options: _Optional[_Union[MigrationOptions, _Mapping]] = ..., project_name: _Optional[str] = ..., compose_files: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateMigrationRequest(_message.Message):
    __slots__ = ("spec", "start")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    spec: MigrationSpec
    start: bool
    def __init__(self, spec: _Optional[_Union[MigrationSpec, _Mapping]] = ..., start: _Optional[bool] = ...) -> None: ...

class MigrationRef(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("name", "state", "started_unix", "ended_unix", "bytes_done", "bytes_expected", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_FIELD_NUMBER: _ClassVar[int]
    ENDED_UNIX_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    started_unix: float
    ended_unix: float
    bytes_done: int
    bytes_expected: int
    error: str
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., started_unix: _Optional[float] = ..., ended_unix: _Optional[float] = ..., bytes_done: _Optional[int] = ..., bytes_expected: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class Migration(_message.Message):
    __slots__ = ("id", "spec", "state", "error", "created_unix", "updated_unix", "steps", "downtime_seconds", "bytes_transferred", "project_name", "waiting", "mounts", "files", "datasets", "downtime", "converge_rounds", "moved", "carried_files")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BYTES_TRANSFERRED_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_FIELD_NUMBER: _ClassVar[int]
    CONVERGE_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    CARRIED_FILES_FIELD_NUMBER: _ClassVar[int]
    id: str
    spec: MigrationSpec
    state: MigrationState
    error: str
    created_unix: float
    updated_unix: float
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    downtime_seconds: float
    bytes_transferred: int
    project_name: str
    waiting: str
    mounts: _containers.RepeatedCompositeFieldContainer[MountPlan]
    files: _containers.RepeatedCompositeFieldContainer[FileMovePlan]
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetPlan]
    downtime: DowntimeBreakdown
    converge_rounds: _containers.RepeatedCompositeFieldContainer[ConvergeRound]
    moved: MovedBytes
    carried_files: _containers.RepeatedCompositeFieldContainer[CarriedFile]
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[MigrationSpec, _Mapping]] = ..., state: _Optional[_Union[MigrationState, str]] = ..., error: _Optional[str] = ..., created_unix: _Optional[float] = ..., updated_unix: _Optional[float] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., downtime_seconds: _Optional[float] = ..., bytes_transferred: _Optional[int] = ..., project_name: _Optional[str] = ..., waiting: _Optional[str] = ..., mounts: _Optional[_Iterable[_Union[MountPlan, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[FileMovePlan, _Mapping]]] = ..., datasets: _Optional[_Iterable[_Union[DatasetPlan, _Mapping]]] = ..., downtime: _Optional[_Union[DowntimeBreakdown, _Mapping]] = ..., converge_rounds: _Optional[_Iterable[_Union[ConvergeRound, _Mapping]]] = ..., moved: _Optional[_Union[MovedBytes, _Mapping]] = ..., carried_files: _Optional[_Iterable[_Union[CarriedFile, _Mapping]]] = ...) -> None: ...

class DowntimeBreakdown(_message.Message):
    __slots__ = ("downtime_seconds", "stop_seconds", "final_snapshot_seconds", "final_transfer_seconds", "deploy_seconds", "start_to_healthy_seconds", "final_delta_bytes", "link_rate_bytes_per_second", "floor_seconds", "overhead_seconds", "spans")
    DOWNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STOP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FINAL_SNAPSHOT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FINAL_TRANSFER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    START_TO_HEALTHY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FINAL_DELTA_BYTES_FIELD_NUMBER: _ClassVar[int]
    LINK_RATE_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    FLOOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OVERHEAD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    downtime_seconds: float
    stop_seconds: float
    final_snapshot_seconds: float
    final_transfer_seconds: float
    deploy_seconds: float
    start_to_healthy_seconds: float
    final_delta_bytes: int
    link_rate_bytes_per_second: float
    floor_seconds: float
    overhead_seconds: float
    spans: str
    def __init__(self, downtime_seconds: _Optional[float] = ..., stop_seconds: _Optional[float] = ..., final_snapshot_seconds: _Optional[float] = ..., final_transfer_seconds: _Optional[float] = ..., deploy_seconds: _Optional[float] = ..., start_to_healthy_seconds: _Optional[float] = ..., final_delta_bytes: _Optional[int] = ..., link_rate_bytes_per_second: _Optional[float] = ..., floor_seconds: _Optional[float] = ..., overhead_seconds: _Optional[float] = ..., spans: _Optional[str] = ...) -> None: ...

class ConvergeRound(_message.Message):
    __slots__ = ("round", "bytes", "seconds")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    round: int
    bytes: int
    seconds: float
    def __init__(self, round: _Optional[int] = ..., bytes: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class MovedBytes(_message.Message):
    __slots__ = ("zfs", "files", "images")
    ZFS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    zfs: int
    files: int
    images: int
    def __init__(self, zfs: _Optional[int] = ..., files: _Optional[int] = ..., images: _Optional[int] = ...) -> None: ...

class MigrationStatus(_message.Message):
    __slots__ = ("id", "state", "progress_percent", "current_step", "step", "bytes_done", "bytes_expected", "rate_bytes_per_second", "eta_seconds", "error", "downtime_seconds", "waiting", "downtime", "converge_rounds")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    RATE_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_FIELD_NUMBER: _ClassVar[int]
    CONVERGE_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: MigrationState
    progress_percent: float
    current_step: str
    step: Step
    bytes_done: int
    bytes_expected: int
    rate_bytes_per_second: float
    eta_seconds: float
    error: str
    downtime_seconds: float
    waiting: str
    downtime: DowntimeBreakdown
    converge_rounds: _containers.RepeatedCompositeFieldContainer[ConvergeRound]
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[MigrationState, str]] = ..., progress_percent: _Optional[float] = ..., current_step: _Optional[str] = ..., step: _Optional[_Union[Step, _Mapping]] = ..., bytes_done: _Optional[int] = ..., bytes_expected: _Optional[int] = ..., rate_bytes_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., error: _Optional[str] = ..., downtime_seconds: _Optional[float] = ..., waiting: _Optional[str] = ..., downtime: _Optional[_Union[DowntimeBreakdown, _Mapping]] = ..., converge_rounds: _Optional[_Iterable[_Union[ConvergeRound, _Mapping]]] = ...) -> None: ...

class ListMigrationsRequest(_message.Message):
    __slots__ = ("states", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[MigrationState]
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[MigrationState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMigrationsReply(_message.Message):
    __slots__ = ("migrations", "next_page_token")
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    migrations: _containers.RepeatedCompositeFieldContainer[Migration]
    next_page_token: str
    def __init__(self, migrations: _Optional[_Iterable[_Union[Migration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MigrationTarget(_message.Message):
    __slots__ = ("id", "spec")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    id: str
    spec: MigrationSpec
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[MigrationSpec, _Mapping]] = ...) -> None: ...

class ValidationCheck(_message.Message):
    __slots__ = ("name", "ok", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class ValidationReport(_message.Message):
    __slots__ = ("ok", "checks")
    OK_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    checks: _containers.RepeatedCompositeFieldContainer[ValidationCheck]
    def __init__(self, ok: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[ValidationCheck, _Mapping]]] = ...) -> None: ...

class DeleteMigrationReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MigrationEvent(_message.Message):
    __slots__ = ("migration_id", "time_unix", "kind", "state", "step", "message", "status", "bytes_done", "bytes_expected")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    migration_id: str
    time_unix: float
    kind: str
    state: MigrationState
    step: str
    message: str
    status: MigrationStatus
    bytes_done: int
    bytes_expected: int
    def __init__(self, migration_id: _Optional[str] = ..., time_unix: _Optional[float] = ..., kind: _Optional[str] = ..., state: _Optional[_Union[MigrationState, str]] = ..., step: _Optional[str] = ..., message: _Optional[str] = ..., status: _Optional[_Union[MigrationStatus, _Mapping]] = ..., bytes_done: _Optional[int] = ..., bytes_expected: _Optional[int] = ...) -> None: ...

class MountPlan(_message.Message):
    __slots__ = ("service", "target", "source", "mover", "reason", "size_bytes", "moves_to")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MOVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MOVES_TO_FIELD_NUMBER: _ClassVar[int]
    service: str
    target: str
    source: str
    mover: str
    reason: str
    size_bytes: int
    moves_to: str
    def __init__(self, service: _Optional[str] = ..., target: _Optional[str] = ..., source: _Optional[str] = ..., mover: _Optional[str] = ..., reason: _Optional[str] = ..., size_bytes: _Optional[int] = ..., moves_to: _Optional[str] = ...) -> None: ...

class FileMovePlan(_message.Message):
    __slots__ = ("name", "moves_to", "estimated_bytes", "bytes_moved")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOVES_TO_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    BYTES_MOVED_FIELD_NUMBER: _ClassVar[int]
    name: str
    moves_to: str
    estimated_bytes: int
    bytes_moved: int
    def __init__(self, name: _Optional[str] = ..., moves_to: _Optional[str] = ..., estimated_bytes: _Optional[int] = ..., bytes_moved: _Optional[int] = ...) -> None: ...

class DatasetPlan(_message.Message):
    __slots__ = ("source_dataset", "source_mountpoint", "target_dataset", "target_mountpoint", "estimated_bytes", "bytes_moved")
    SOURCE_DATASET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATASET_FIELD_NUMBER: _ClassVar[int]
    TARGET_MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    BYTES_MOVED_FIELD_NUMBER: _ClassVar[int]
    source_dataset: str
    source_mountpoint: str
    target_dataset: str
    target_mountpoint: str
    estimated_bytes: int
    bytes_moved: int
    def __init__(self, source_dataset: _Optional[str] = ..., source_mountpoint: _Optional[str] = ..., target_dataset: _Optional[str] = ..., target_mountpoint: _Optional[str] = ..., estimated_bytes: _Optional[int] = ..., bytes_moved: _Optional[int] = ...) -> None: ...

class Rewrite(_message.Message):
    __slots__ = ("location", "before", "after", "reason", "changed")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    location: str
    before: str
    after: str
    reason: str
    changed: bool
    def __init__(self, location: _Optional[str] = ..., before: _Optional[str] = ..., after: _Optional[str] = ..., reason: _Optional[str] = ..., changed: _Optional[bool] = ...) -> None: ...

class MigrationPlan(_message.Message):
    __slots__ = ("project_name", "datasets", "path_map", "compose_diff", "env_diff", "rewrites", "target_compose_dir", "total_bytes", "mounts", "files", "carried_files", "compose_files", "env_files", "profiles", "services", "discovered_from")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    PATH_MAP_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_DIFF_FIELD_NUMBER: _ClassVar[int]
    ENV_DIFF_FIELD_NUMBER: _ClassVar[int]
    REWRITES_FIELD_NUMBER: _ClassVar[int]
    TARGET_COMPOSE_DIR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CARRIED_FILES_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    DISCOVERED_FROM_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetPlan]
    path_map: _containers.RepeatedCompositeFieldContainer[PathMapping]
    compose_diff: str
    env_diff: str
    rewrites: _containers.RepeatedCompositeFieldContainer[Rewrite]
    target_compose_dir: str
    total_bytes: int
    mounts: _containers.RepeatedCompositeFieldContainer[MountPlan]
    files: _containers.RepeatedCompositeFieldContainer[FileMovePlan]
    carried_files: _containers.RepeatedCompositeFieldContainer[CarriedFile]
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    profiles: _containers.RepeatedScalarFieldContainer[str]
    services: _containers.RepeatedScalarFieldContainer[str]
    discovered_from: str
    def __init__(self, project_name: _Optional[str] = ..., datasets: _Optional[_Iterable[_Union[DatasetPlan, _Mapping]]] = ..., path_map: _Optional[_Iterable[_Union[PathMapping, _Mapping]]] = ..., compose_diff: _Optional[str] = ..., env_diff: _Optional[str] = ..., rewrites: _Optional[_Iterable[_Union[Rewrite, _Mapping]]] = ..., target_compose_dir: _Optional[str] = ..., total_bytes: _Optional[int] = ..., mounts: _Optional[_Iterable[_Union[MountPlan, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[FileMovePlan, _Mapping]]] = ..., carried_files: _Optional[_Iterable[_Union[CarriedFile, _Mapping]]] = ..., compose_files: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ..., profiles: _Optional[_Iterable[str]] = ..., services: _Optional[_Iterable[str]] = ..., discovered_from: _Optional[str] = ...) -> None: ...

class CarriedFile(_message.Message):
    __slots__ = ("kind", "source_path", "target_path", "relative", "inside_data", "diff")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_PATH_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    INSIDE_DATA_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    kind: str
    source_path: str
    target_path: str
    relative: str
    inside_data: bool
    diff: str
    def __init__(self, kind: _Optional[str] = ..., source_path: _Optional[str] = ..., target_path: _Optional[str] = ..., relative: _Optional[str] = ..., inside_data: _Optional[bool] = ..., diff: _Optional[str] = ...) -> None: ...

class PingAgentRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class PingAgentReply(_message.Message):
    __slots__ = ("reachable", "error", "version", "hostname", "storage_backend", "compose_variant", "latency_ms")
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    STORAGE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_VARIANT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    reachable: bool
    error: str
    version: str
    hostname: str
    storage_backend: str
    compose_variant: str
    latency_ms: float
    def __init__(self, reachable: _Optional[bool] = ..., error: _Optional[str] = ..., version: _Optional[str] = ..., hostname: _Optional[str] = ..., storage_backend: _Optional[str] = ..., compose_variant: _Optional[str] = ..., latency_ms: _Optional[float] = ...) -> None: ...
