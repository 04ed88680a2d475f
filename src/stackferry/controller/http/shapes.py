"""The JSON bodies of the HTTP API, as pydantic models: FastAPI validates requests with them
and writes /api/v1/openapi.json from them. No behaviour here; http/convert.py fills them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    # A misspelt field of a request is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class PathMap(Body):
    source: str
    target: str


class Options(Body):
    keep_snapshots: bool = False
    verify_timeout_seconds: int = 0  # 0 = the controller's default
    bandwidth_limit_bytes_per_second: int = 0  # 0 = unlimited


class CreateMigration(Body):
    """The specification's create request, plus stackferry's own fields.

    Every field is optional here so that a missing one gets a 422 that names it, after the
    controller's defaults (local_agent, default_target_dataset) have had their say.
    """

    name: str | None = None
    compose_stack_path: str | None = Field(None, description="the compose file on the source")
    target_host: str | None = Field(None, description="target agent, HOST or HOST:PORT")
    target_base_path: str | None = Field(None, description="where datasets mount on the target")
    use_zfs: bool = True
    transfer_method: str = "zfs_send"
    source_agent: str | None = Field(None, description="HOST:PORT; default: local_agent")
    target_dataset: str | None = Field(None, description="default: default_target_dataset")
    target_compose_dir: str = ""
    project_name: str = ""
    path_maps: list[PathMap] = []
    options: Options = Options()
    start: bool = False
    compose_files: list[str] = Field(
        [],
        description="the -f list in order (its first is compose_stack_path, which may then "
        "be left out); none, with project_name and no compose_stack_path: the labels' files",
    )
    env_files: list[str] = Field([], description="the --env-file list")


class Step(BaseModel):
    name: str
    status: str  # pending, running, done, failed
    started_at: float | None
    ended_at: float | None
    duration_seconds: float | None
    bytes_done: int
    bytes_expected: int
    error: str


class Spec(BaseModel):
    name: str
    compose_stack_path: str
    source_agent: str
    target_host: str
    target_dataset: str
    target_base_path: str
    target_compose_dir: str
    project_name: str
    transfer_method: str
    use_zfs: bool
    path_maps: list[PathMap]
    options: Options
    compose_files: list[str]
    env_files: list[str]


class Migration(BaseModel):
    id: str
    name: str
    status: str  # the state, e.g. BULK_SENDING
    progress_percentage: float
    spec: Spec
    project_name: str
    error: str
    created_at: float
    updated_at: float
    downtime_seconds: float | None
    bytes_transferred: int
    steps: list[Step]


class MigrationPage(BaseModel):
    migrations: list[Migration]
    next_page_token: str


class CurrentStep(BaseModel):
    name: str
    status: str
    progress: float  # percent of the step's bytes


class Status(BaseModel):
    """The specification's status shape, then stackferry's figures."""

    id: str
    status: str
    progress_percentage: float
    current_step: CurrentStep | None
    estimated_remaining_seconds: float | None
    bytes_done: int
    bytes_expected: int
    rate_bytes_per_second: float
    downtime_seconds: float | None
    error: str
    steps: list[Step]


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class ValidationReport(BaseModel):
    ok: bool
    checks: list[Check]


class DatasetPlan(BaseModel):
    source_dataset: str
    source_mountpoint: str
    target_dataset: str
    target_mountpoint: str
    estimated_bytes: int


class Rewrite(BaseModel):
    location: str
    before: str
    after: str
    reason: str
    changed: bool


class MountPlan(BaseModel):
    """One mount of one service and how it moves (mover: zfs, files, nothing, left alone,
    excluded, refused)."""

    service: str
    target: str
    source: str
    mover: str
    reason: str
    size_bytes: int
    moves_to: str


class FileMovePlan(BaseModel):
    """One tree the file mover copies."""

    name: str
    moves_to: str
    estimated_bytes: int


class CarriedFile(BaseModel):
    """One file of the compose project: inside_data when the migrated data puts it at
    target_path, else the deploy carries it as a file; diff is its translation."""

    kind: str
    source_path: str
    target_path: str
    relative: str
    inside_data: bool
    diff: str


class Plan(BaseModel):
    project_name: str
    datasets: list[DatasetPlan]
    path_map: list[PathMap]
    compose_diff: str
    env_diff: str
    rewrites: list[Rewrite]
    target_compose_dir: str
    total_bytes: int
    mounts: list[MountPlan]
    files: list[FileMovePlan]
    carried_files: list[CarriedFile]
    compose_files: list[str]  # the -f list on the target
    env_files: list[str]
    profiles: list[str]
    services: list[str]  # started on the target: the ones that ran on the source
    discovered_from: str  # labels, explicit or default


class Event(BaseModel):
    """One entry of GET .../events: the same event as gRPC WatchMigration sends."""

    id: int
    migration_id: str
    time: float
    kind: str  # state, progress, log
    status: str  # the migration's state when it was recorded
    step: str
    message: str
    bytes_done: int
    bytes_expected: int
    progress: Status


class Error(BaseModel):
    code: str  # machine-readable: not_found, failed_precondition, invalid_argument, ...
    message: str
    field: str | None = None


class MigrationTarget(CreateMigration):
    """validate / plan: a stored migration by `id`, or a create body to check as it is."""

    id: str | None = None
