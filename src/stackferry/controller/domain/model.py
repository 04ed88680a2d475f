"""What a migration is: its spec, its state, its steps and the working data it needs to resume.

Plain dataclasses, no grpc. Times are Unix seconds (float) so they cross every backend and
the proto unchanged. MigrationState names mirror the proto enum `MigrationState` exactly, so
`pb.MigrationState.Value(state.value)` converts.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from stackferry.controller.domain.downtime import ConvergeRound, DowntimeBreakdown
from stackferry.hostapi import ProjectFile, StackInfo


class MigrationState(enum.StrEnum):
    PENDING = "PENDING"
    VALIDATING = "VALIDATING"
    SNAPSHOTTING = "SNAPSHOTTING"
    BULK_SENDING = "BULK_SENDING"
    STOPPING_SOURCE = "STOPPING_SOURCE"
    FINAL_SNAPSHOTTING = "FINAL_SNAPSHOTTING"
    INCREMENTAL_SENDING = "INCREMENTAL_SENDING"
    DEPLOYING = "DEPLOYING"
    VERIFYING = "VERIFYING"
    CLEANING_UP = "CLEANING_UP"
    COMPLETED = "COMPLETED"
    ROLLING_BACK = "ROLLING_BACK"
    ROLLED_BACK = "ROLLED_BACK"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    FAILING = "FAILING"
    FAILED = "FAILED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"

    @property
    def is_terminal(self) -> bool:
        """Ended, and owing nothing: the machine gives no terminal state an action."""
        return self in TERMINAL_STATES

    @property
    def is_halted(self) -> bool:
        """The engine has nothing left to do: ended, or NEEDS_ATTENTION, where the rollback
        could not learn whether the target stack runs and waits for a person to resume it.
        A halted migration that is not terminal still holds its stack (no second one)."""
        return self in TERMINAL_STATES or self == MigrationState.NEEDS_ATTENTION


TERMINAL_STATES = frozenset(
    {
        MigrationState.COMPLETED,
        MigrationState.ROLLED_BACK,
        MigrationState.CANCELLED,
        MigrationState.FAILED,
    }
)


class StepState(enum.StrEnum):
    """Values are the lowercase strings the proto's Step.state carries."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class EventKind(enum.StrEnum):
    """Values are the strings the proto's MigrationEvent.kind carries."""

    STATE = "state"
    PROGRESS = "progress"
    LOG = "log"


class PathMapping(NamedTuple):
    """One extra path rewrite: `source` prefix on the source host becomes `target` on the target."""

    source: str
    target: str


@dataclass(frozen=True)
class MigrationOptions:
    keep_snapshots: bool = False
    verify_timeout_seconds: int = 120
    bandwidth_limit_bytes_per_second: int = 0  # 0 = unlimited
    path_maps: tuple[PathMapping, ...] = ()
    # A failed or cancelled migration leaves what it made on the target (stopped) for
    # inspection instead of discarding it.
    keep_target_on_failure: bool = False
    # Mounts the user leaves behind: a volume's compose key or engine name, a host path, or
    # SERVICE:CONTAINER_PATH; shown in the plan and the record.
    excludes: tuple[str, ...] = ()
    allow_overwrite: bool = False  # a non-empty same-name volume on the target may be synced into
    stop_timeout_seconds: int = 0  # one grace period for every service; 0: each its own
    # Converge rounds before the stop (domain/downtime.py ConvergePolicy); 0 rounds: none.
    converge_max_rounds: int = 5
    converge_target_seconds: float = 1.0
    final_parallelism: int = 4  # datasets sent at once after the stop
    compression: str = "none"  # of the zfs and image streams: "none", "lz4", "zstd" or "auto"


@dataclass(frozen=True)
class MigrationSpec:
    """What the user asked for; never changes after creation."""

    name: str
    compose_path: str
    source_agent: str  # host:port
    target_agent: str  # host:port
    target_dataset: str  # parent dataset the stack's datasets are received below
    target_base: str  # path the received datasets are mounted below
    target_compose_dir: str = ""  # "" = translated location, else the same directory
    project_name: str = ""  # "" = from the compose file / directory
    options: MigrationOptions = field(default_factory=MigrationOptions)
    # The explicit -f list in order (compose_path is its first entry when given); () with
    # compose_path "": the files the running project's containers name (project_name needed).
    compose_files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()  # explicit --env-file list; (): the labels' or the .env

    @property
    def stack(self) -> str:
        """What names the stack on its source host: the first compose file, else the project."""
        return self.compose_path or f"project {self.project_name}"

    @property
    def given_files(self) -> tuple[str, ...]:
        """The explicit -f list to inspect with: compose_files, else compose_path alone."""
        return self.compose_files or ((self.compose_path,) if self.compose_path else ())


@dataclass
class Step:
    """One unit of work of a migration; `name` is the machine's Action value that runs it."""

    name: str
    state: StepState = StepState.PENDING
    started_at: float | None = None
    ended_at: float | None = None
    bytes_done: int = 0
    bytes_expected: int = 0
    error: str = ""


@dataclass(frozen=True)
class DatasetPlan:
    """One source dataset of the stack and where it goes on the target."""

    source_dataset: str
    source_mountpoint: str
    target_dataset: str
    target_mountpoint: str
    estimated_bytes: int = 0
    bytes_moved: int = 0  # the stream bytes of its sends, for the record


class Mover(enum.StrEnum):
    """How one mount of the stack moves (see controller/domain/mounts.py)."""

    ZFS = "zfs"
    FILES = "files"
    NOTHING = "nothing"  # a tmpfs, or a source that does not exist: nothing to move
    LEFT_ALONE = "left alone"  # a system path every host has
    EXCLUDED = "excluded"  # the user said so (--exclude)
    REFUSED = "refused"


@dataclass(frozen=True)
class MountEntry:
    """One mount of one service and how it moves; `moves_to` is where its data lands."""

    service: str
    target: str  # the path in the container
    source: str  # "bind /srv/x", "volume app_db", "tmpfs", "anonymous volume 3f2a..."
    mover: Mover
    reason: str = ""
    size_bytes: int = 0
    moves_to: str = ""


@dataclass(frozen=True)
class FileMove:
    """One tree the file mover copies: a source directory or volume to a target directory or
    volume (a volume is recreated on the target first, with the source's driver, options and
    labels). `bytes_moved` adds up the stream bytes of its passes."""

    name: str  # how people are told of it: the directory, or "volume NAME"
    source_path: str = ""
    source_volume: str = ""
    target_path: str = ""
    target_volume: str = ""
    volume_driver: str = ""
    volume_options: dict[str, str] = field(default_factory=dict)
    volume_labels: dict[str, str] = field(default_factory=dict)
    estimated_bytes: int = 0
    bytes_moved: int = 0
    written_path: str = ""  # the path the compose file names, when a link leads to source_path


@dataclass(frozen=True)
class CarriedFilePlan:
    """One file of the compose project and where it lands on the target: `inside_data` when
    the migrated data (a dataset or a file move) puts it there anyway, else it is carried as a
    file by the deploy. `diff` is its translation ("" when it moves unchanged)."""

    kind: str  # compose, include, extends, env, env_file, secret, config ...
    source_path: str
    target_path: str
    relative: str = ""  # relative to the project directory; "" when outside it
    inside_data: bool = False
    diff: str = ""


@dataclass(frozen=True)
class SourceProject:
    """The compose project as the source agent reported it at validation (StackInfo's part of
    it), kept so that the plan can be made again when the source is stopped or gone."""

    project_dir: str = ""
    compose_files: tuple[str, ...] = ()  # the -f list the source runs
    env_files: tuple[str, ...] = ()  # the interpolation env files it reads
    profiles: tuple[str, ...] = ()
    running_services: tuple[str, ...] = ()
    discovered_from: str = ""
    files: tuple[ProjectFile, ...] = ()  # every carried file, with its content

    @classmethod
    def of(cls, stack: StackInfo) -> SourceProject:
        return cls(
            stack.project_dir,
            stack.compose_files,
            stack.env_files,
            stack.profiles,
            stack.running_services,
            stack.discovered_from,
            stack.project_files,
        )


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot the migration took (or received), kept so resume and cleanup find it by GUID."""

    host: str  # "source" or "target"
    dataset: str
    name: str  # the part after "@"
    guid: str = ""
    created_at: float = 0.0


@dataclass
class Migration:
    """A migration and its durable working data.

    `version` is the store's compare-and-set counter: it is whatever the store last returned,
    and a save with a stale version fails with Conflict, so two drivers cannot both advance.
    `pending_action` is the machine's action owed by the last transition (None in a terminal
    state); a controller that restarts runs it again, which is safe because every action is
    idempotent. `waiting` says, while the driver waits to try an unreachable agent again,
    which agent and when ("" otherwise); every transition clears it.
    """

    id: str
    spec: MigrationSpec
    state: MigrationState = MigrationState.PENDING
    error: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = 0
    pending_action: str | None = None
    steps: list[Step] = field(default_factory=list)
    project_name: str = ""
    downtime_seconds: float | None = None
    bytes_transferred: int = 0
    compose_text: str = ""
    env_text: str = ""
    datasets: list[DatasetPlan] = field(default_factory=list)
    snapshots: list[SnapshotRecord] = field(default_factory=list)
    source_stopped_at: float | None = None
    target_serving_at: float | None = None
    waiting: str = ""
    files: list[FileMove] = field(default_factory=list)  # the file mover's trees
    mounts: list[MountEntry] = field(default_factory=list)  # every mount and its mover
    downtime_report: DowntimeBreakdown = field(default_factory=DowntimeBreakdown)
    converge_rounds: list[ConvergeRound] = field(default_factory=list)
    # Bytes the target agent received, by kind of stream ("zfs", "files", "images").
    moved_bytes: dict[str, int] = field(default_factory=dict)
    source_project: SourceProject = field(default_factory=SourceProject)
    carried_files: list[CarriedFilePlan] = field(default_factory=list)  # as planned

    @property
    def source_compose_path(self) -> str:
        """The source's first compose file: the spec's, else the one its containers named."""
        files = self.source_project.compose_files
        return self.spec.compose_path or (files[0] if files else "")

    def step(self, name: str) -> Step:
        """The step called `name`, appended as pending when the migration has none yet."""
        for existing in self.steps:
            if existing.name == name:
                return existing
        created = Step(name=name)
        self.steps.append(created)
        return created

    def snapshot_guid(self, host: str, dataset: str, name: str) -> str:
        """The GUID recorded for `dataset@name` on `host` ("source" / "target"), "" if none."""
        for s in self.snapshots:
            if (s.host, s.dataset, s.name) == (host, dataset, name):
                return s.guid
        return ""

    def moved(self, kind: str, received: int) -> None:
        """Counts `received` bytes the target got in a stream of `kind` into the record."""
        self.moved_bytes[kind] = self.moved_bytes.get(kind, 0) + received
        self.bytes_transferred += received

    def live_stream(self, received: int, seconds: float) -> None:
        """Times a stream before the stop into the measured link rate (downtime_report)."""
        report = self.downtime_report
        self.downtime_report = dataclasses.replace(
            report,
            live_bytes=report.live_bytes + received,
            live_seconds=report.live_seconds + seconds,
        )

    def remember(self, record: SnapshotRecord) -> None:
        """Records a snapshot, replacing an earlier record of the same one."""
        key = (record.host, record.dataset, record.name)
        kept = [s for s in self.snapshots if (s.host, s.dataset, s.name) != key]
        self.snapshots = [*kept, record]


def snapshot_name(migration: Migration, phase: int) -> str:
    """`sf-<id>-1` is taken with the stack running, `sf-<id>-2` after the stop."""
    return f"sf-{migration.id}-{phase}"


def round_snapshot_name(migration: Migration, round_number: int) -> str:
    """Converge round N's snapshot (the app still running): `sf-<id>-1r<N>`."""
    return f"{snapshot_name(migration, 1)}r{round_number}"


def live_base_name(migration: Migration) -> str:
    """The snapshot the final delta starts from: the last converge round's, else the bulk's."""
    rounds = len(migration.converge_rounds)
    return round_snapshot_name(migration, rounds) if rounds else snapshot_name(migration, 1)


def new_migration(spec: MigrationSpec, now: float) -> Migration:
    """A fresh PENDING migration with a random id; the store assigns its version on create."""
    return Migration(
        id=uuid.uuid4().hex,
        spec=spec,
        created_at=now,
        updated_at=now,
        project_name=spec.project_name,
    )


@dataclass(frozen=True)
class Event:
    """One entry of a migration's event log; `id` is assigned by the store, increasing.

    `message` is for people; what a program needs is in typed fields: a PROGRESS event's
    `bytes_done` / `bytes_expected` are its step's figures then, a LOG event about a resumed
    stream carries the bytes the target already had / the stream's whole size.
    """

    migration_id: str
    time: float
    kind: EventKind
    state: MigrationState
    step: str = ""
    message: str = ""
    bytes_done: int = 0
    bytes_expected: int = 0
    id: int = 0


@dataclass(frozen=True)
class Lease:
    """Proof that `owner` is the only driver of a migration until `expires_at`."""

    migration_id: str
    owner: str
    expires_at: float
