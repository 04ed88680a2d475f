from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SnapshotAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SNAPSHOT_ACTION_UNSPECIFIED: _ClassVar[SnapshotAction]
    SNAPSHOT_CREATE: _ClassVar[SnapshotAction]
    SNAPSHOT_LIST: _ClassVar[SnapshotAction]
    SNAPSHOT_DESTROY: _ClassVar[SnapshotAction]
    SNAPSHOT_HOLD: _ClassVar[SnapshotAction]
    SNAPSHOT_RELEASE: _ClassVar[SnapshotAction]

class StreamKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_KIND_UNSPECIFIED: _ClassVar[StreamKind]
    STREAM_ZFS: _ClassVar[StreamKind]
    STREAM_IMAGES: _ClassVar[StreamKind]
    STREAM_FILES: _ClassVar[StreamKind]
SNAPSHOT_ACTION_UNSPECIFIED: SnapshotAction
SNAPSHOT_CREATE: SnapshotAction
SNAPSHOT_LIST: SnapshotAction
SNAPSHOT_DESTROY: SnapshotAction
SNAPSHOT_HOLD: SnapshotAction
SNAPSHOT_RELEASE: SnapshotAction
STREAM_KIND_UNSPECIFIED: StreamKind
STREAM_ZFS: StreamKind
STREAM_IMAGES: StreamKind
STREAM_FILES: StreamKind

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("version", "hostname", "storage_backend", "storage_features", "zfs_version", "docker_version", "compose_variant", "compose_version", "allowed_dataset_roots", "allowed_path_roots", "api_version", "rsync_version", "compressions")
    class StorageFeaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    STORAGE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    ZFS_VERSION_FIELD_NUMBER: _ClassVar[int]
    DOCKER_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_VARIANT_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_DATASET_ROOTS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PATH_ROOTS_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    RSYNC_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    version: str
    hostname: str
    storage_backend: str
    storage_features: _containers.ScalarMap[str, bool]
    zfs_version: str
    docker_version: str
    compose_variant: str
    compose_version: str
    allowed_dataset_roots: _containers.RepeatedScalarFieldContainer[str]
    allowed_path_roots: _containers.RepeatedScalarFieldContainer[str]
    api_version: str
    rsync_version: str
    compressions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[str] = ..., hostname: _Optional[str] = ..., storage_backend: _Optional[str] = ..., storage_features: _Optional[_Mapping[str, bool]] = ..., zfs_version: _Optional[str] = ..., docker_version: _Optional[str] = ..., compose_variant: _Optional[str] = ..., compose_version: _Optional[str] = ..., allowed_dataset_roots: _Optional[_Iterable[str]] = ..., allowed_path_roots: _Optional[_Iterable[str]] = ..., api_version: _Optional[str] = ..., rsync_version: _Optional[str] = ..., compressions: _Optional[_Iterable[str]] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("action", "datasets", "name", "recursive", "hold_tag", "migration_id")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    HOLD_TAG_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    action: SnapshotAction
    datasets: _containers.RepeatedScalarFieldContainer[str]
    name: str
    recursive: bool
    hold_tag: str
    migration_id: str
    def __init__(self, action: _Optional[_Union[SnapshotAction, str]] = ..., datasets: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., recursive: _Optional[bool] = ..., hold_tag: _Optional[str] = ..., migration_id: _Optional[str] = ...) -> None: ...

class SnapshotInfo(_message.Message):
    __slots__ = ("dataset", "name", "guid", "created_unix", "used_bytes", "referenced_bytes")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GUID_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    REFERENCED_BYTES_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    name: str
    guid: str
    created_unix: int
    used_bytes: int
    referenced_bytes: int
    def __init__(self, dataset: _Optional[str] = ..., name: _Optional[str] = ..., guid: _Optional[str] = ..., created_unix: _Optional[int] = ..., used_bytes: _Optional[int] = ..., referenced_bytes: _Optional[int] = ...) -> None: ...

class SnapshotReply(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[SnapshotInfo]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[SnapshotInfo, _Mapping]]] = ...) -> None: ...

class GetDatasetsRequest(_message.Message):
    __slots__ = ("datasets", "recursive")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedScalarFieldContainer[str]
    recursive: bool
    def __init__(self, datasets: _Optional[_Iterable[str]] = ..., recursive: _Optional[bool] = ...) -> None: ...

class DatasetInfo(_message.Message):
    __slots__ = ("name", "exists", "mountpoint", "mounted", "used_bytes", "available_bytes", "referenced_bytes", "guid", "receive_resume_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    REFERENCED_BYTES_FIELD_NUMBER: _ClassVar[int]
    GUID_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    exists: bool
    mountpoint: str
    mounted: bool
    used_bytes: int
    available_bytes: int
    referenced_bytes: int
    guid: str
    receive_resume_token: str
    def __init__(self, name: _Optional[str] = ..., exists: _Optional[bool] = ..., mountpoint: _Optional[str] = ..., mounted: _Optional[bool] = ..., used_bytes: _Optional[int] = ..., available_bytes: _Optional[int] = ..., referenced_bytes: _Optional[int] = ..., guid: _Optional[str] = ..., receive_resume_token: _Optional[str] = ...) -> None: ...

class GetDatasetsReply(_message.Message):
    __slots__ = ("datasets",)
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetInfo]
    def __init__(self, datasets: _Optional[_Iterable[_Union[DatasetInfo, _Mapping]]] = ...) -> None: ...

class EstimateSendRequest(_message.Message):
    __slots__ = ("snapshot", "base_snapshot", "resume_token")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    BASE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    snapshot: str
    base_snapshot: str
    resume_token: str
    def __init__(self, snapshot: _Optional[str] = ..., base_snapshot: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...

class SendEstimate(_message.Message):
    __slots__ = ("bytes", "method")
    BYTES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    method: str
    def __init__(self, bytes: _Optional[int] = ..., method: _Optional[str] = ...) -> None: ...

class PrepareReceiveRequest(_message.Message):
    __slots__ = ("kind", "target_dataset", "base_snapshot_guid", "allow_overwrite", "ttl_seconds", "images", "resume", "migration_id", "target_files", "file_checksum")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATASET_FIELD_NUMBER: _ClassVar[int]
    BASE_SNAPSHOT_GUID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FILES_FIELD_NUMBER: _ClassVar[int]
    FILE_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    kind: StreamKind
    target_dataset: str
    base_snapshot_guid: str
    allow_overwrite: bool
    ttl_seconds: int
    images: _containers.RepeatedScalarFieldContainer[str]
    resume: bool
    migration_id: str
    target_files: FileTree
    file_checksum: bool
    def __init__(self, kind: _Optional[_Union[StreamKind, str]] = ..., target_dataset: _Optional[str] = ..., base_snapshot_guid: _Optional[str] = ..., allow_overwrite: _Optional[bool] = ..., ttl_seconds: _Optional[int] = ..., images: _Optional[_Iterable[str]] = ..., resume: _Optional[bool] = ..., migration_id: _Optional[str] = ..., target_files: _Optional[_Union[FileTree, _Mapping]] = ..., file_checksum: _Optional[bool] = ...) -> None: ...

class PrepareReceiveReply(_message.Message):
    __slots__ = ("ticket", "expires_unix")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_UNIX_FIELD_NUMBER: _ClassVar[int]
    ticket: str
    expires_unix: int
    def __init__(self, ticket: _Optional[str] = ..., expires_unix: _Optional[int] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("kind", "snapshot", "base_snapshot", "images", "peer", "header", "bandwidth_limit_bytes_per_second", "resume_token", "source_files", "compression", "zfs_compressed")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    BASE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_LIMIT_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FILES_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    ZFS_COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    kind: StreamKind
    snapshot: str
    base_snapshot: str
    images: _containers.RepeatedScalarFieldContainer[str]
    peer: str
    header: ReceiveHeader
    bandwidth_limit_bytes_per_second: int
    resume_token: str
    source_files: FileTree
    compression: str
    zfs_compressed: bool
    def __init__(self, kind: _Optional[_Union[StreamKind, str]] = ..., snapshot: _Optional[str] = ..., base_snapshot: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., peer: _Optional[str] = ..., header: _Optional[_Union[ReceiveHeader, _Mapping]] = ..., bandwidth_limit_bytes_per_second: _Optional[int] = ..., resume_token: _Optional[str] = ..., source_files: _Optional[_Union[FileTree, _Mapping]] = ..., compression: _Optional[str] = ..., zfs_compressed: _Optional[bool] = ...) -> None: ...

class TransferProgress(_message.Message):
    __slots__ = ("bytes_done", "bytes_expected", "rate_bytes_per_second", "eta_seconds", "elapsed_seconds")
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    RATE_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    bytes_done: int
    bytes_expected: int
    rate_bytes_per_second: float
    eta_seconds: float
    elapsed_seconds: float
    def __init__(self, bytes_done: _Optional[int] = ..., bytes_expected: _Optional[int] = ..., rate_bytes_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., elapsed_seconds: _Optional[float] = ...) -> None: ...

class TransferResult(_message.Message):
    __slots__ = ("bytes", "checksum", "received_snapshot", "received_guid", "seconds", "wire_bytes", "compression")
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_GUID_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    WIRE_BYTES_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    checksum: str
    received_snapshot: str
    received_guid: str
    seconds: float
    wire_bytes: int
    compression: str
    def __init__(self, bytes: _Optional[int] = ..., checksum: _Optional[str] = ..., received_snapshot: _Optional[str] = ..., received_guid: _Optional[str] = ..., seconds: _Optional[float] = ..., wire_bytes: _Optional[int] = ..., compression: _Optional[str] = ...) -> None: ...

class SendEvent(_message.Message):
    __slots__ = ("progress", "chunk", "done")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    progress: TransferProgress
    chunk: bytes
    done: TransferResult
    def __init__(self, progress: _Optional[_Union[TransferProgress, _Mapping]] = ..., chunk: _Optional[bytes] = ..., done: _Optional[_Union[TransferResult, _Mapping]] = ...) -> None: ...

class ReceiveHeader(_message.Message):
    __slots__ = ("kind", "ticket", "target_dataset", "base_snapshot_guid", "allow_overwrite", "bytes_expected", "resumable", "source_snapshot", "resume", "target_files", "file_checksum", "compression", "files_final")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATASET_FIELD_NUMBER: _ClassVar[int]
    BASE_SNAPSHOT_GUID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    BYTES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    RESUMABLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FILES_FIELD_NUMBER: _ClassVar[int]
    FILE_CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    FILES_FINAL_FIELD_NUMBER: _ClassVar[int]
    kind: StreamKind
    ticket: str
    target_dataset: str
    base_snapshot_guid: str
    allow_overwrite: bool
    bytes_expected: int
    resumable: bool
    source_snapshot: str
    resume: bool
    target_files: FileTree
    file_checksum: bool
    compression: str
    files_final: bool
    def __init__(self, kind: _Optional[_Union[StreamKind, str]] = ..., ticket: _Optional[str] = ..., target_dataset: _Optional[str] = ..., base_snapshot_guid: _Optional[str] = ..., allow_overwrite: _Optional[bool] = ..., bytes_expected: _Optional[int] = ..., resumable: _Optional[bool] = ..., source_snapshot: _Optional[str] = ..., resume: _Optional[bool] = ..., target_files: _Optional[_Union[FileTree, _Mapping]] = ..., file_checksum: _Optional[bool] = ..., compression: _Optional[str] = ..., files_final: _Optional[bool] = ...) -> None: ...

class ReceiveTrailer(_message.Message):
    __slots__ = ("bytes", "checksum", "error")
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    checksum: str
    error: str
    def __init__(self, bytes: _Optional[int] = ..., checksum: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class ReceiveMessage(_message.Message):
    __slots__ = ("header", "chunk", "trailer")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    header: ReceiveHeader
    chunk: bytes
    trailer: ReceiveTrailer
    def __init__(self, header: _Optional[_Union[ReceiveHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., trailer: _Optional[_Union[ReceiveTrailer, _Mapping]] = ...) -> None: ...

class ReceiveReply(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: TransferResult
    def __init__(self, result: _Optional[_Union[TransferResult, _Mapping]] = ...) -> None: ...

class InspectStackRequest(_message.Message):
    __slots__ = ("compose_path", "project_name", "compose_files", "env_files")
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    compose_path: str
    project_name: str
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, compose_path: _Optional[str] = ..., project_name: _Optional[str] = ..., compose_files: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ...) -> None: ...

class ProjectFile(_message.Message):
    __slots__ = ("path", "kind", "relative", "content", "owner", "exists", "mode", "uid", "gid")
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    path: str
    kind: str
    relative: str
    content: bytes
    owner: str
    exists: bool
    mode: int
    uid: int
    gid: int
    def __init__(self, path: _Optional[str] = ..., kind: _Optional[str] = ..., relative: _Optional[str] = ..., content: _Optional[bytes] = ..., owner: _Optional[str] = ..., exists: _Optional[bool] = ..., mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ...) -> None: ...

class ContainerInfo(_message.Message):
    __slots__ = ("name", "id", "state", "health", "service", "exit_code", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    state: str
    health: str
    service: str
    exit_code: int
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., state: _Optional[str] = ..., health: _Optional[str] = ..., service: _Optional[str] = ..., exit_code: _Optional[int] = ..., restart_count: _Optional[int] = ...) -> None: ...

class ServiceInfo(_message.Message):
    __slots__ = ("name", "image", "containers", "published_ports")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_PORTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    image: str
    containers: _containers.RepeatedCompositeFieldContainer[ContainerInfo]
    published_ports: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., image: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[ContainerInfo, _Mapping]]] = ..., published_ports: _Optional[_Iterable[str]] = ...) -> None: ...

class ImageInfo(_message.Message):
    __slots__ = ("name", "present", "id", "size_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    present: bool
    id: str
    size_bytes: int
    def __init__(self, name: _Optional[str] = ..., present: _Optional[bool] = ..., id: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class MountInfo(_message.Message):
    __slots__ = ("service", "source", "target", "on_zfs", "dataset", "dataset_mountpoint", "type", "resolved_source", "outside_roots", "source_kind", "volume", "volume_key", "volume_driver", "volume_options", "volume_labels", "external", "volume_mountpoint", "shared_with", "seen_in", "size_bytes", "read_only", "location", "anonymous")
    class VolumeOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VolumeLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ON_ZFS_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATASET_MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_ROOTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_KEY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_DRIVER_FIELD_NUMBER: _ClassVar[int]
    VOLUME_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_LABELS_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    SHARED_WITH_FIELD_NUMBER: _ClassVar[int]
    SEEN_IN_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    service: str
    source: str
    target: str
    on_zfs: bool
    dataset: str
    dataset_mountpoint: str
    type: str
    resolved_source: str
    outside_roots: bool
    source_kind: str
    volume: str
    volume_key: str
    volume_driver: str
    volume_options: _containers.ScalarMap[str, str]
    volume_labels: _containers.ScalarMap[str, str]
    external: bool
    volume_mountpoint: str
    shared_with: _containers.RepeatedScalarFieldContainer[str]
    seen_in: str
    size_bytes: int
    read_only: bool
    location: str
    anonymous: bool
    def __init__(self, service: _Optional[str] = ..., source: _Optional[str] = ..., target: _Optional[str] = ..., on_zfs: _Optional[bool] = ..., dataset: _Optional[str] = ..., dataset_mountpoint: _Optional[str] = ..., type: _Optional[str] = ..., resolved_source: _Optional[str] = ..., outside_roots: _Optional[bool] = ..., source_kind: _Optional[str] = ..., volume: _Optional[str] = ..., volume_key: _Optional[str] = ..., volume_driver: _Optional[str] = ..., volume_options: _Optional[_Mapping[str, str]] = ..., volume_labels: _Optional[_Mapping[str, str]] = ..., external: _Optional[bool] = ..., volume_mountpoint: _Optional[str] = ..., shared_with: _Optional[_Iterable[str]] = ..., seen_in: _Optional[str] = ..., size_bytes: _Optional[int] = ..., read_only: _Optional[bool] = ..., location: _Optional[str] = ..., anonymous: _Optional[bool] = ...) -> None: ...

class StackInfo(_message.Message):
    __slots__ = ("project_name", "project_dir", "compose_path", "compose_text", "env_text", "env_exists", "services", "images", "mounts", "datasets", "compose_files", "profiles", "required_features", "compose_check", "compose_check_failed", "started_with", "env_files", "project_files", "discovered_from", "running_services")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DIR_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_TEXT_FIELD_NUMBER: _ClassVar[int]
    ENV_TEXT_FIELD_NUMBER: _ClassVar[int]
    ENV_EXISTS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FEATURES_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_CHECK_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_CHECK_FAILED_FIELD_NUMBER: _ClassVar[int]
    STARTED_WITH_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FILES_FIELD_NUMBER: _ClassVar[int]
    DISCOVERED_FROM_FIELD_NUMBER: _ClassVar[int]
    RUNNING_SERVICES_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    project_dir: str
    compose_path: str
    compose_text: str
    env_text: str
    env_exists: bool
    services: _containers.RepeatedCompositeFieldContainer[ServiceInfo]
    images: _containers.RepeatedCompositeFieldContainer[ImageInfo]
    mounts: _containers.RepeatedCompositeFieldContainer[MountInfo]
    datasets: _containers.RepeatedScalarFieldContainer[str]
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    profiles: _containers.RepeatedScalarFieldContainer[str]
    required_features: _containers.RepeatedScalarFieldContainer[str]
    compose_check: str
    compose_check_failed: bool
    started_with: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    project_files: _containers.RepeatedCompositeFieldContainer[ProjectFile]
    discovered_from: str
    running_services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project_name: _Optional[str] = ..., project_dir: _Optional[str] = ..., compose_path: _Optional[str] = ..., compose_text: _Optional[str] = ..., env_text: _Optional[str] = ..., env_exists: _Optional[bool] = ..., services: _Optional[_Iterable[_Union[ServiceInfo, _Mapping]]] = ..., images: _Optional[_Iterable[_Union[ImageInfo, _Mapping]]] = ..., mounts: _Optional[_Iterable[_Union[MountInfo, _Mapping]]] = ..., datasets: _Optional[_Iterable[str]] = ..., compose_files: _Optional[_Iterable[str]] = ..., profiles: _Optional[_Iterable[str]] = ..., required_features: _Optional[_Iterable[str]] = ..., compose_check: _Optional[str] = ..., compose_check_failed: _Optional[bool] = ..., started_with: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ..., project_files: _Optional[_Iterable[_Union[ProjectFile, _Mapping]]] = ..., discovered_from: _Optional[str] = ..., running_services: _Optional[_Iterable[str]] = ...) -> None: ...

class StackRef(_message.Message):
    __slots__ = ("project_name", "compose_path", "timeout_seconds", "migration_id", "compose_files", "env_files", "services")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    compose_path: str
    timeout_seconds: int
    migration_id: str
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project_name: _Optional[str] = ..., compose_path: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., migration_id: _Optional[str] = ..., compose_files: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ..., services: _Optional[_Iterable[str]] = ...) -> None: ...

class StackStatus(_message.Message):
    __slots__ = ("project_name", "services", "stop_seconds", "stops")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    STOP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STOPS_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceInfo]
    stop_seconds: float
    stops: _containers.RepeatedCompositeFieldContainer[StopOutcome]
    def __init__(self, project_name: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceInfo, _Mapping]]] = ..., stop_seconds: _Optional[float] = ..., stops: _Optional[_Iterable[_Union[StopOutcome, _Mapping]]] = ...) -> None: ...

class StopOutcome(_message.Message):
    __slots__ = ("service", "grace_seconds", "seconds", "killed")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    service: str
    grace_seconds: float
    seconds: float
    killed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service: _Optional[str] = ..., grace_seconds: _Optional[float] = ..., seconds: _Optional[float] = ..., killed: _Optional[_Iterable[str]] = ...) -> None: ...

class DatasetMount(_message.Message):
    __slots__ = ("dataset", "mountpoint")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    mountpoint: str
    def __init__(self, dataset: _Optional[str] = ..., mountpoint: _Optional[str] = ...) -> None: ...

class DeployRequest(_message.Message):
    __slots__ = ("project_name", "compose_dir", "compose_text", "env_text", "write_env", "mounts", "wait_timeout_seconds", "compose_filename", "migration_id", "compose_files", "env_files", "profiles", "services", "files", "create_only")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_DIR_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_TEXT_FIELD_NUMBER: _ClassVar[int]
    ENV_TEXT_FIELD_NUMBER: _ClassVar[int]
    WRITE_ENV_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILENAME_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_FILES_FIELD_NUMBER: _ClassVar[int]
    ENV_FILES_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CREATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    compose_dir: str
    compose_text: str
    env_text: str
    write_env: bool
    mounts: _containers.RepeatedCompositeFieldContainer[DatasetMount]
    wait_timeout_seconds: int
    compose_filename: str
    migration_id: str
    compose_files: _containers.RepeatedScalarFieldContainer[str]
    env_files: _containers.RepeatedScalarFieldContainer[str]
    profiles: _containers.RepeatedScalarFieldContainer[str]
    services: _containers.RepeatedScalarFieldContainer[str]
    files: _containers.RepeatedCompositeFieldContainer[ProjectFile]
    create_only: bool
    def __init__(self, project_name: _Optional[str] = ..., compose_dir: _Optional[str] = ..., compose_text: _Optional[str] = ..., env_text: _Optional[str] = ..., write_env: _Optional[bool] = ..., mounts: _Optional[_Iterable[_Union[DatasetMount, _Mapping]]] = ..., wait_timeout_seconds: _Optional[int] = ..., compose_filename: _Optional[str] = ..., migration_id: _Optional[str] = ..., compose_files: _Optional[_Iterable[str]] = ..., env_files: _Optional[_Iterable[str]] = ..., profiles: _Optional[_Iterable[str]] = ..., services: _Optional[_Iterable[str]] = ..., files: _Optional[_Iterable[_Union[ProjectFile, _Mapping]]] = ..., create_only: _Optional[bool] = ...) -> None: ...

class DeployCheck(_message.Message):
    __slots__ = ("name", "ok", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class DeployChecks(_message.Message):
    __slots__ = ("checks", "missing_images")
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    MISSING_IMAGES_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[DeployCheck]
    missing_images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, checks: _Optional[_Iterable[_Union[DeployCheck, _Mapping]]] = ..., missing_images: _Optional[_Iterable[str]] = ...) -> None: ...

class DeployResult(_message.Message):
    __slots__ = ("ok", "services", "error", "logs", "compose_path", "up_seconds", "ready_seconds", "settle_seconds", "started_created")
    class LogsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OK_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    UP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    READY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SETTLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STARTED_CREATED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    services: _containers.RepeatedCompositeFieldContainer[ServiceInfo]
    error: str
    logs: _containers.ScalarMap[str, str]
    compose_path: str
    up_seconds: float
    ready_seconds: float
    settle_seconds: float
    started_created: bool
    def __init__(self, ok: _Optional[bool] = ..., services: _Optional[_Iterable[_Union[ServiceInfo, _Mapping]]] = ..., error: _Optional[str] = ..., logs: _Optional[_Mapping[str, str]] = ..., compose_path: _Optional[str] = ..., up_seconds: _Optional[float] = ..., ready_seconds: _Optional[float] = ..., settle_seconds: _Optional[float] = ..., started_created: _Optional[bool] = ...) -> None: ...

class Claim(_message.Message):
    __slots__ = ("role", "project_name", "compose_path", "datasets", "paths", "volumes", "ttl_seconds")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPOSE_PATH_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    role: str
    project_name: str
    compose_path: str
    datasets: _containers.RepeatedScalarFieldContainer[str]
    paths: _containers.RepeatedScalarFieldContainer[str]
    volumes: _containers.RepeatedScalarFieldContainer[str]
    ttl_seconds: int
    def __init__(self, role: _Optional[str] = ..., project_name: _Optional[str] = ..., compose_path: _Optional[str] = ..., datasets: _Optional[_Iterable[str]] = ..., paths: _Optional[_Iterable[str]] = ..., volumes: _Optional[_Iterable[str]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class ClaimRequest(_message.Message):
    __slots__ = ("migration_id", "claim")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    migration_id: str
    claim: Claim
    def __init__(self, migration_id: _Optional[str] = ..., claim: _Optional[_Union[Claim, _Mapping]] = ...) -> None: ...

class ClaimGrant(_message.Message):
    __slots__ = ("migration_id", "expires_unix")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_UNIX_FIELD_NUMBER: _ClassVar[int]
    migration_id: str
    expires_unix: int
    def __init__(self, migration_id: _Optional[str] = ..., expires_unix: _Optional[int] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("migration_id", "committed")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    migration_id: str
    committed: bool
    def __init__(self, migration_id: _Optional[str] = ..., committed: _Optional[bool] = ...) -> None: ...

class ReleaseResult(_message.Message):
    __slots__ = ("deploy_live",)
    DEPLOY_LIVE_FIELD_NUMBER: _ClassVar[int]
    deploy_live: bool
    def __init__(self, deploy_live: _Optional[bool] = ...) -> None: ...

class DiscardRequest(_message.Message):
    __slots__ = ("migration_id",)
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    migration_id: str
    def __init__(self, migration_id: _Optional[str] = ...) -> None: ...

class DiscardResult(_message.Message):
    __slots__ = ("removed", "kept")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.RepeatedScalarFieldContainer[str]
    kept: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, removed: _Optional[_Iterable[str]] = ..., kept: _Optional[_Iterable[str]] = ...) -> None: ...

class FileTree(_message.Message):
    __slots__ = ("path", "volume")
    PATH_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    path: str
    volume: str
    def __init__(self, path: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class FileSyncEnd(_message.Message):
    __slots__ = ("exit_code", "error")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    error: str
    def __init__(self, exit_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class FileSyncMessage(_message.Message):
    __slots__ = ("header", "chunk", "end")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    header: ReceiveHeader
    chunk: bytes
    end: FileSyncEnd
    def __init__(self, header: _Optional[_Union[ReceiveHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., end: _Optional[_Union[FileSyncEnd, _Mapping]] = ...) -> None: ...

class FileManifestRequest(_message.Message):
    __slots__ = ("tree",)
    TREE_FIELD_NUMBER: _ClassVar[int]
    tree: FileTree
    def __init__(self, tree: _Optional[_Union[FileTree, _Mapping]] = ...) -> None: ...

class FileManifestReply(_message.Message):
    __slots__ = ("digest", "files", "bytes")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    digest: str
    files: int
    bytes: int
    def __init__(self, digest: _Optional[str] = ..., files: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class VolumeSpec(_message.Message):
    __slots__ = ("name", "driver", "driver_opts", "labels")
    class DriverOptsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    DRIVER_OPTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    driver: str
    driver_opts: _containers.ScalarMap[str, str]
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., driver: _Optional[str] = ..., driver_opts: _Optional[_Mapping[str, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VolumeUser(_message.Message):
    __slots__ = ("container", "project", "service", "running")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    container: str
    project: str
    service: str
    running: bool
    def __init__(self, container: _Optional[str] = ..., project: _Optional[str] = ..., service: _Optional[str] = ..., running: _Optional[bool] = ...) -> None: ...

class VolumeInfo(_message.Message):
    __slots__ = ("name", "exists", "driver", "driver_opts", "labels", "mountpoint", "empty", "size_bytes", "used_by")
    class DriverOptsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    DRIVER_OPTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    EMPTY_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    exists: bool
    driver: str
    driver_opts: _containers.ScalarMap[str, str]
    labels: _containers.ScalarMap[str, str]
    mountpoint: str
    empty: bool
    size_bytes: int
    used_by: _containers.RepeatedCompositeFieldContainer[VolumeUser]
    def __init__(self, name: _Optional[str] = ..., exists: _Optional[bool] = ..., driver: _Optional[str] = ..., driver_opts: _Optional[_Mapping[str, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., mountpoint: _Optional[str] = ..., empty: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., used_by: _Optional[_Iterable[_Union[VolumeUser, _Mapping]]] = ...) -> None: ...

class VolumeInspectRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class VolumeCreateRequest(_message.Message):
    __slots__ = ("spec", "allow_overwrite", "migration_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ALLOW_OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    spec: VolumeSpec
    allow_overwrite: bool
    migration_id: str
    def __init__(self, spec: _Optional[_Union[VolumeSpec, _Mapping]] = ..., allow_overwrite: _Optional[bool] = ..., migration_id: _Optional[str] = ...) -> None: ...
