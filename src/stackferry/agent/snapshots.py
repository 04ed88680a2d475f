"""The Snapshot, GetDatasets and EstimateSend operations: names from the network are checked
against the allowed roots here, before the storage backend sees them. No grpc here."""

from __future__ import annotations

from collections.abc import Sequence

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.roots import Roots, validate_snapshot_name
from stackferry.agent.storage.base import StorageBackend
from stackferry.hostapi import DatasetInfo, SendEstimate, SnapshotInfo

ACTIONS = ("create", "list", "destroy", "hold", "release")


def _datasets(roots: Roots, datasets: Sequence[str]) -> list[str]:
    if not datasets:
        raise InvalidArgument("name at least one dataset")
    return [roots.check_dataset(ds) for ds in dict.fromkeys(datasets)]


def snapshot_action(
    storage: StorageBackend,
    roots: Roots,
    action: str,
    datasets: Sequence[str],
    name: str,
    recursive: bool,
    hold_tag: str = "",
) -> list[SnapshotInfo]:
    """Runs one snapshot action; returns the snapshots it made, listed or (un)held."""
    if action not in ACTIONS:
        raise InvalidArgument(f"snapshot action must be one of {', '.join(ACTIONS)}")
    checked = _datasets(roots, datasets)
    if action == "list":
        return storage.list_snapshots(
            checked, validate_snapshot_name(name) if name else None, recursive
        )
    if not name:
        raise InvalidArgument(f"snapshot {action} needs a snapshot name")
    validate_snapshot_name(name)
    if action == "create":
        return storage.create_snapshot(checked, name, recursive)
    if action == "destroy":
        storage.destroy_snapshot(checked, name, recursive)
        return []
    if not hold_tag:
        raise InvalidArgument(f"snapshot {action} needs a hold tag")
    if action == "hold":
        storage.hold(checked, name, hold_tag, recursive)
    else:
        storage.release(checked, name, hold_tag, recursive)
    return storage.list_snapshots(checked, name, recursive)


def get_datasets(
    storage: StorageBackend, roots: Roots, datasets: Sequence[str], recursive: bool
) -> list[DatasetInfo]:
    """Facts about datasets; one that does not exist is reported with exists=False."""
    return storage.get_datasets(_datasets(roots, datasets), recursive)


def estimate_send(
    storage: StorageBackend, roots: Roots, snapshot: str, base: str, resume_token: str = ""
) -> SendEstimate:
    """base may be "pool/ds@s1" or "@s1" (a snapshot of the same dataset). With a resume
    token: what is left to send of that partial receive of snapshot."""
    dataset, _ = roots.check_snapshot(snapshot)
    if resume_token:
        return storage.estimate_send(snapshot, None, resume_token)
    if base:
        full_base = dataset + base if base.startswith("@") else base
        base_dataset, _ = roots.check_snapshot(full_base)
        if base_dataset != dataset:
            raise InvalidArgument(f"base {base!r} is not a snapshot of {dataset!r}")
        return storage.estimate_send(snapshot, full_base)
    return storage.estimate_send(snapshot, None)
