"""The host facts both daemons speak of, in one set of names: what an agent reports about its
storage and its compose stacks, and what the controller asks it to do.

The agent's storage backends, container runtime and stack service return these; the
controller's planning, validation and migration steps read them. The names are the agent
API's message names (proto/stackferry/api/agent/v1/agent.proto), and
stackferry/api/agent/convert.py is the one converter between the two, one function per
direction. Plain frozen dataclasses: no grpc, no protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The agent API's proto package; GetInfo reports it and validation compares it.
# tests/unit/test_hostapi.py holds it equal to the generated code's package.
AGENT_API_VERSION = "stackferry.api.agent.v1"


@dataclass(frozen=True)
class AgentInfo:
    version: str
    hostname: str
    api_version: str
    storage_backend: str = ""
    storage_features: dict[str, bool] = field(default_factory=dict)
    zfs_version: str = ""
    docker_version: str = ""
    compose_variant: str = ""
    compose_version: str = ""
    allowed_dataset_roots: tuple[str, ...] = ()
    allowed_path_roots: tuple[str, ...] = ()
    rsync_version: str = ""  # "" when rsync is not installed: no file mover on this host
    compressions: tuple[str, ...] = ()  # wire compressions of its streams ("none", "zstd", ...)


@dataclass(frozen=True)
class AgentPing:
    """The answer to "can the controller reach this agent?"; never raises for an unreachable one."""

    address: str
    reachable: bool
    error: str = ""
    version: str = ""
    hostname: str = ""
    storage_backend: str = ""
    compose_variant: str = ""
    latency_ms: float = 0.0
    info: AgentInfo | None = None

    @classmethod
    def reached(cls, address: str, info: AgentInfo, latency_ms: float = 0.0) -> AgentPing:
        """The ping of an agent that answered GetInfo with `info`."""
        return cls(
            address,
            reachable=True,
            version=info.version,
            hostname=info.hostname,
            storage_backend=info.storage_backend,
            compose_variant=info.compose_variant,
            latency_ms=latency_ms,
            info=info,
        )


@dataclass(frozen=True)
class SnapshotInfo:
    dataset: str
    name: str
    guid: str
    created_unix: int = 0
    used_bytes: int = 0
    referenced_bytes: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.dataset}@{self.name}"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    exists: bool
    mountpoint: str = ""
    mounted: bool = False
    used_bytes: int = 0
    available_bytes: int = 0
    referenced_bytes: int = 0
    guid: str = ""
    receive_resume_token: str = ""  # OpenZFS: a partial `receive -s` waits here for `send -t`


@dataclass(frozen=True)
class SendEstimate:
    """What a send is expected to stream, and how that was found: "zfs send -nvP" is the
    stream's own dry run ("zfs send -nvP -t" for what is left of a partial receive);
    "properties" is read from dataset properties (a guess)."""

    bytes: int
    method: str = ""

    @property
    def is_dry_run(self) -> bool:
        return self.method == "zfs send -nvP"


FAILED_STATES = ("exited", "dead", "restarting")


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    id: str = ""
    service: str = ""  # the com.docker.compose.service label
    state: str = ""  # running, exited, restarting, created, dead ...
    health: str = ""  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int = 0
    restart_count: int = 0

    @property
    def ready(self) -> bool:
        """Running, and healthy where it has a healthcheck."""
        return self.state == "running" and self.health in ("", "healthy")

    def describe(self) -> str:
        """How a person is told what is wrong with it (or what state it is in)."""
        if self.state == "exited":
            return f"{self.name} exited with code {self.exit_code}"
        if self.health == "unhealthy":
            return f"{self.name} is unhealthy"
        if self.restart_count:
            return f"{self.name} is {self.state} after {self.restart_count} restarts"
        return f"{self.name} is {self.state}"

    @property
    def failed(self) -> bool:
        """Crashed: stopped, restarting, restarted at least once, or unhealthy."""
        return self.state in FAILED_STATES or self.restart_count > 0 or self.health == "unhealthy"


@dataclass(frozen=True)
class ImageInfo:
    name: str
    present: bool
    id: str = ""
    size_bytes: int = 0


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    image: str = ""
    containers: tuple[ContainerInfo, ...] = ()
    published_ports: tuple[str, ...] = ()  # "8080/tcp"


@dataclass(frozen=True)
class MountInfo:
    """One mount of the stack, as the source agent found it in the compose file and in the
    running containers' Mounts: a bind's host path `source` (`resolved_source` after realpath),
    a volume's engine facts, and the dataset that holds the data if any. The controller's plan
    gives each a mover (controller/domain/mounts.py)."""

    service: str
    source: str
    target: str
    on_zfs: bool = False
    dataset: str = ""
    dataset_mountpoint: str = ""
    type: str = "bind"  # bind, volume, tmpfs, or another type compose / the engine names
    resolved_source: str = ""
    outside_roots: bool = False
    source_kind: str = ""  # dir, file, missing, other
    volume: str = ""  # the engine's name
    volume_key: str = ""  # the top-level compose key
    volume_driver: str = ""
    volume_options: dict[str, str] = field(default_factory=dict)
    volume_labels: dict[str, str] = field(default_factory=dict)
    external: bool = False
    volume_mountpoint: str = ""  # "" when the engine has no such volume yet
    shared_with: tuple[str, ...] = ()  # other compose projects whose containers use it
    seen_in: str = "compose"  # compose, container, compose+container
    size_bytes: int = 0
    read_only: bool = False
    location: str = ""  # services.web.volumes[1], or the container for one compose lacks
    anonymous: bool = False


@dataclass(frozen=True)
class ProjectFile:
    """One file of a compose project that a migration carries: on the source (StackInfo) with the
    source path, in a DeployRequest with the absolute path it is written to on the target."""

    path: str  # absolute
    kind: str  # compose, include, extends, env, env_file, secret, config, label_file
    relative: str = ""  # relative to the project directory; "" when outside it
    content: bytes = b""  # the bytes (a secrets file may be binary)
    owner: str = ""  # the compose file that names it ("" for -f files and the .env)
    exists: bool = True  # an optional env_file (required: false) may be absent
    mode: int = 0o644  # permission bits on the source
    uid: int = 0  # owner on the source, given to the file on the target (an agent as root)
    gid: int = 0


@dataclass(frozen=True)
class StackInfo:
    """A compose stack on one host, as InspectStack sees it."""

    project_name: str
    project_dir: str
    compose_path: str
    compose_text: str
    env_text: str = ""
    env_exists: bool = False
    services: tuple[ServiceInfo, ...] = ()
    images: tuple[ImageInfo, ...] = ()
    mounts: tuple[MountInfo, ...] = ()
    datasets: tuple[str, ...] = ()
    # The compose project as compose runs it here: the -f list, the active profiles, the
    # features it needs, and this host's compose CLI's verdict ("" when not checked).
    compose_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    required_features: tuple[str, ...] = ()
    compose_check: str = ""
    compose_check_failed: bool = False
    started_with: tuple[str, ...] = ()  # the -f list its containers' labels name, () without
    env_files: tuple[str, ...] = ()  # the interpolation env files really read
    project_files: tuple[ProjectFile, ...] = ()  # every carried file, in load order
    discovered_from: str = ""  # how the -f list was found: labels, explicit, default
    running_services: tuple[str, ...] = ()  # with a running container here, in start order


@dataclass(frozen=True)
class StopOutcome:
    """How one service's containers stopped: `killed` names those still running when their
    grace period ran out (SIGKILLed, exit 137)."""

    service: str
    grace_seconds: float
    seconds: float
    killed: tuple[str, ...] = ()

    def describe(self) -> str:
        how = f"killed after {self.grace_seconds:g} s" if self.killed else "stopped cleanly"
        return f"{self.service}: {how} ({self.seconds:.1f} s)"


@dataclass(frozen=True)
class StackStatus:
    """What StopStack and StartStack answer: the project's services after the command; a
    stop also says how long it took and how each service stopped, in stop order."""

    project_name: str
    services: tuple[ServiceInfo, ...] = ()
    stop_seconds: float = 0.0
    stops: tuple[StopOutcome, ...] = ()


# The longest a deploy takes on the agent (agent/stacks.py): compose up and the wait for the
# services together within wait_timeout_seconds (DEPLOY_DEFAULT_WAIT_SECONDS for 0), then,
# when it failed, a compose down of at most DEPLOY_DOWN_SECONDS. The controller's deadline
# for the call exceeds this bound, so that a deploy still running is never retried.
DEPLOY_DEFAULT_WAIT_SECONDS = 120
DEPLOY_DOWN_SECONDS = 120


def deploy_bound_seconds(wait_timeout_seconds: int) -> int:
    return (wait_timeout_seconds or DEPLOY_DEFAULT_WAIT_SECONDS) + DEPLOY_DOWN_SECONDS


@dataclass(frozen=True)
class DeployRequest:
    project_name: str
    compose_dir: str
    compose_text: str
    env_text: str = ""
    write_env: bool = False
    mounts: tuple[tuple[str, str], ...] = ()  # (dataset, mountpoint), mounted before compose up
    wait_timeout_seconds: int = 0
    compose_filename: str = ""
    migration_id: str = ""  # journaled; what the deploy writes carries it
    # The whole compose project (empty: compose_dir/compose_filename and its .env alone): the
    # -f list (absolute, its first entry compose_dir/compose_filename), the --env-file list,
    # the active profiles, the services `up` starts (empty: every active one), every other
    # carried file at its target path; create_only: `up --no-start`, nothing started.
    compose_files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    files: tuple[ProjectFile, ...] = ()
    create_only: bool = False


@dataclass(frozen=True)
class DeployCheck:
    """One named check of a deploy on the target (compose_cli, compose_file, images ...)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class DeployChecks:
    checks: tuple[DeployCheck, ...]
    missing_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeployResult:
    """A deploy's outcome: ok, or why not with the failing containers' last log lines."""

    ok: bool
    services: tuple[ServiceInfo, ...] = ()
    compose_path: str = ""
    error: str = ""
    logs: dict[str, str] = field(default_factory=dict)  # container name -> last lines
    # A deploy that got ready: compose up took `up_seconds`, then every service was
    # first seen ready `ready_seconds` later; the settle watch after that took `settle_seconds`.
    up_seconds: float = 0.0
    ready_seconds: float = 0.0
    settle_seconds: float = 0.0
    # The pre-created containers were started through the engine API (agent/stack_start.py).
    started_created: bool = False


@dataclass(frozen=True)
class TransferProgress:
    bytes_done: int
    bytes_expected: int = 0
    rate_bytes_per_second: float = 0.0
    eta_seconds: float = -1.0
    elapsed_seconds: float = 0.0


# The wire compressions of agent-to-agent streams (agent/compression.py).
COMPRESSIONS = ("none", "lz4", "zstd", "auto")


@dataclass(frozen=True)
class TransferResult:
    bytes: int
    checksum: str = ""  # "algorithm:hexdigest", e.g. "xxh3-128:..."
    received_snapshot: str = ""
    received_guid: str = ""
    seconds: float = 0.0
    wire_bytes: int = 0  # the chunk bytes on the wire (after compression)
    compression: str = ""  # the codecs the chunks used: "none", "zstd", "none+zstd", ...


@dataclass(frozen=True)
class ZfsTransfer:
    """One agent-to-agent zfs stream: `snapshot` (incremental from `base_snapshot`) becomes
    `target_dataset` on the peer, which must hold a snapshot with `base_guid` for an incremental."""

    snapshot: str
    target_dataset: str
    base_snapshot: str = ""
    base_guid: str = ""
    bytes_expected: int = 0
    bandwidth_limit: int = 0
    resumable: bool = False  # receive -s: a cut stream leaves a resume token on the target
    resume_token: str = ""  # continues the target's partial receive (send -t)
    compression: str = "none"  # on the wire between the agents: "none", "lz4", "zstd", "auto"
    zfs_compressed: bool = False  # zfs send -c: both agents' OpenZFS have it


@dataclass(frozen=True)
class Claim:
    """What one migration reserves on an agent: the project it stops and starts (source) or the
    datasets, directories and volumes it writes (target). Another migration's mutating call on
    any of them is refused until the claim is released or expires."""

    role: str  # "source" | "target"
    project_name: str
    compose_path: str = ""
    datasets: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # directories the migration writes (compose dir, file targets)
    volumes: tuple[str, ...] = ()  # docker volume names
    ttl_seconds: int = 0  # 0: the agent's default (900 s); a repeated claim renews


@dataclass(frozen=True)
class ClaimGrant:
    migration_id: str
    expires_unix: int


@dataclass(frozen=True)
class ReleaseResult:
    """deploy_live: False when the migration's journaled deploy is no longer in place (the
    agent's restart reconcile removed it), so the migration must not be reported a success."""

    deploy_live: bool


@dataclass(frozen=True)
class DiscardResult:
    removed: tuple[str, ...]
    kept: tuple[str, ...]  # "NAME: reason"


@dataclass(frozen=True)
class FileTree:
    """A tree of files on one host, moved by the file mover (rsync's protocol between the
    agents): a directory, checked against the agent's path roots, or a Docker named volume,
    whose Mountpoint the engine reports. Exactly one of the two is set."""

    path: str = ""
    volume: str = ""

    def describe(self) -> str:
        return f"volume {self.volume}" if self.volume else f"directory {self.path}"


@dataclass(frozen=True)
class VolumeSpec:
    """What a named volume is created with on the target: the source's own values, compose's
    labels (com.docker.compose.project / .volume) included, so that compose adopts it."""

    name: str
    driver: str = "local"
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeUser:
    """A container (running or not) that mounts a volume."""

    container: str
    project: str = ""  # its com.docker.compose.project label, "" if none
    service: str = ""
    running: bool = False


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    exists: bool
    driver: str = ""
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    mountpoint: str = ""
    empty: bool = True  # nothing under the mountpoint
    size_bytes: int = 0  # the regular files' sizes under the mountpoint, summed
    used_by: tuple[VolumeUser, ...] = ()

    def spec(self) -> VolumeSpec:
        return VolumeSpec(self.name, self.driver, dict(self.driver_opts), dict(self.labels))


@dataclass(frozen=True)
class FileTransfer:
    """One pass of the file mover: `source` on the sending agent becomes `target` on the peer.
    A later pass of the same pair sends only the difference."""

    source: FileTree
    target: FileTree
    bandwidth_limit: int = 0
    allow_overwrite: bool = False  # sync into a non-empty target this migration did not create
    checksum: bool = False  # compare file contents (rsync --checksum), not size and mtime
    final: bool = False  # the pass after the stop: a file vanishing under it fails it


@dataclass(frozen=True)
class FileManifest:
    """A tree summed up: equal digests mean equal trees (paths, types, modes, numeric owners,
    sizes, mtimes, link targets, hardlink groups, contents, xattrs and ACLs)."""

    digest: str  # "xxh3-128:<hexdigest>"
    files: int  # entries, the root included
    bytes: int  # the regular files' sizes, summed
