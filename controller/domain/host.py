"""What the controller learns from an agent: plain value types, no grpc.

controller/agents.py converts the agent's protobuf replies into these, so planning,
validation and the orchestrator never see `*_pb2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class SnapshotInfo:
    dataset: str
    name: str
    guid: str
    created_unix: int = 0
    used_bytes: int = 0
    referenced_bytes: int = 0


@dataclass(frozen=True)
class SendEstimate:
    """What the source agent expects a send to stream, and how it knows: "zfs send -nvP" is the
    stream's own dry run; "properties" is read from dataset properties (a guess)."""

    bytes: int
    method: str = ""

    @property
    def is_dry_run(self) -> bool:
        return self.method == "zfs send -nvP"


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
    receive_resume_token: str = ""  # OpenZFS: a partial receive waits here for `send -t`


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    state: str  # running, exited, restarting ...
    health: str = ""  # healthy, unhealthy, starting or ""


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    image: str = ""
    containers: tuple[ContainerInfo, ...] = ()
    published_ports: tuple[str, ...] = ()  # "8080/tcp"


@dataclass(frozen=True)
class ImageInfo:
    name: str
    present: bool
    size_bytes: int = 0


@dataclass(frozen=True)
class MountInfo:
    """One bind mount of the stack: host path `source`, and the dataset that holds it if any."""

    service: str
    source: str
    target: str
    on_zfs: bool = False
    dataset: str = ""
    dataset_mountpoint: str = ""


@dataclass(frozen=True)
class StackInfo:
    """The source stack as InspectStack sees it."""

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


@dataclass(frozen=True)
class DeployCheck:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class DeployChecks:
    checks: tuple[DeployCheck, ...]
    missing_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeployRequest:
    project_name: str
    compose_dir: str
    compose_text: str
    env_text: str
    write_env: bool
    mounts: tuple[tuple[str, str], ...]  # (dataset, mountpoint), mounted before compose up
    wait_timeout_seconds: int
    compose_filename: str = "docker-compose.yml"


@dataclass(frozen=True)
class DeployResult:
    ok: bool
    error: str = ""
    services: tuple[ServiceInfo, ...] = ()
    logs: dict[str, str] = field(default_factory=dict)
    compose_path: str = ""


@dataclass(frozen=True)
class TransferProgress:
    bytes_done: int
    bytes_expected: int = 0
    rate_bytes_per_second: float = 0.0
    eta_seconds: float = -1.0


@dataclass(frozen=True)
class TransferResult:
    bytes: int
    checksum: str = ""  # "algorithm:hexdigest", e.g. "xxh3-128:..."
    received_snapshot: str = ""
    received_guid: str = ""
    seconds: float = 0.0


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
