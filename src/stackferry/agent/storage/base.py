"""The storage backend interface (zfs, plain directory ...) and its value types. No grpc here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from stackferry.agent.streams import ByteSink, ByteSource
from stackferry.hostapi import DatasetInfo, SendEstimate, SnapshotInfo


class StorageBackend(Protocol):
    name: str  # "zfs", "directory"

    def version(self) -> str: ...

    def features(self) -> dict[str, bool]:
        """send_estimate, resume, compressed, raw, receive_unmounted, holds (detected)."""
        ...

    def create_snapshot(
        self, datasets: Sequence[str], name: str, recursive: bool
    ) -> list[SnapshotInfo]:
        """One atomic snapshot across all datasets."""
        ...

    def list_snapshots(
        self, datasets: Sequence[str], name: str | None, recursive: bool
    ) -> list[SnapshotInfo]: ...

    def destroy_snapshot(self, datasets: Sequence[str], name: str, recursive: bool) -> None: ...

    def hold(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None: ...

    def release(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None: ...

    def get_datasets(self, names: Sequence[str], recursive: bool) -> list[DatasetInfo]: ...

    def dataset_for_path(self, path: str) -> DatasetInfo | None:
        """The mounted dataset that holds ``path`` (longest mountpoint prefix), or None."""
        ...

    def estimate_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> SendEstimate:
        """Expected stream size; base is "pool/ds@s1" or "@s1". NotFound for a missing snapshot.
        With resume_token: what is left to send of that partial receive of snapshot."""
        ...

    def open_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> ByteSource:
        """Starts the sender (full, or incremental from base); NotFound before it starts when
        a snapshot is missing. Its finish() raises a typed error when the sender failed."""
        ...

    def check_receive(
        self, target: str, base_guid: str | None, allow_overwrite: bool, resume: bool = False
    ) -> None:
        """Raises unless a receive into target could succeed: InvalidArgument for a pool root,
        AlreadyExists for an existing target of a full stream (unless allow_overwrite),
        FailedPrecondition when no target snapshot has base_guid (matched by GUID, not name).
        resume: the stream continues the target's partial receive, which must exist."""
        ...

    def open_receive(
        self,
        target: str,
        base_guid: str | None,
        allow_overwrite: bool,
        resumable: bool = False,
        resume: bool = False,
        migration_id: str = "",
    ) -> ByteSink:
        """Checks as check_receive, creates missing parents, starts the receiver. The received
        dataset stays unmounted until mount(). abort() leaves the target as it was before,
        except that a resumable receive (where supported) keeps its partial state.
        What it creates is recorded for migration_id and marked with it; AlreadyExists while
        another receive into the same target runs."""
        ...

    def marks(self, dataset: str) -> dict[str, str] | None:
        """The migration mark of dataset and of each dataset below it ("" for none); None
        when dataset does not exist."""
        ...

    def destroy(self, dataset: str) -> None:
        """Destroys dataset with its snapshots and everything below it."""
        ...

    def mount(self, dataset: str, mountpoint: str) -> None:
        """Sets the dataset's mountpoint and mounts it there (at deploy time)."""
        ...
