"""What every part of the zfs backend runs zfs with: one command (its failure a typed
error), properties of datasets and snapshots, and the destroy that outlasts zfs-fuse's
"busy" moment after a killed receive."""

from __future__ import annotations

import time
from collections.abc import Sequence

from stackferry.agent import errors, exec
from stackferry.agent.storage import zfs_argv as argv
from stackferry.agent.storage.zfs_errors import zfs_error
from stackferry.agent.storage.zfs_parse import ZfsFeatures, parse_properties, to_int

MISSING = "does not exist"


class ZfsCommands:
    _features: ZfsFeatures  # detected by ZfsBackend at start

    def __init__(self, zfs_binary: str) -> None:
        self.zfs = zfs_binary

    def _run(self, args: list[str], action: str) -> exec.Result:
        try:
            return exec.run(args)
        except errors.CommandFailed as exc:
            raise zfs_error(exc, action) from exc

    def _props(
        self, names: Sequence[str], props: Sequence[str], depth: int | None = None
    ) -> dict[str, dict[str, str]]:
        """Properties of names; a name that does not exist is simply absent from the result."""
        done = exec.run(argv.get_properties(self.zfs, names, props, depth), check=False)
        if done.returncode != 0:
            others = [ln for ln in done.stderr.splitlines() if ln.strip() and MISSING not in ln]
            if others:
                raise zfs_error(
                    errors.CommandFailed(done.argv, done.returncode, done.stderr), "zfs get"
                )
        return parse_properties(done.stdout)

    def _exists(self, name: str) -> bool:
        return name in self._props([name], ["guid"])

    def _snapshots_of(self, dataset: str) -> dict[str, str]:
        """Snapshot short name -> guid, oldest first."""
        rows = self._props([dataset], argv.SNAPSHOT_PROPS, depth=1)
        snaps = [(n, p) for n, p in rows.items() if n.startswith(dataset + "@")]
        snaps.sort(key=lambda item: to_int(item[1].get("createtxg", "0")))
        return {n.partition("@")[2]: p.get("guid", "") for n, p in snaps}

    def _destroy_eventually(self, dataset: str, recursive: bool = True) -> None:
        # A killed zfs-fuse receiver's daemon side may still hold the dataset for a moment.
        for _ in range(100):
            done = exec.run(argv.destroy(self.zfs, dataset, recursive), check=False)
            if done.returncode == 0 or MISSING in done.stderr:
                return
            if "busy" not in done.stderr:
                raise zfs_error(
                    errors.CommandFailed(done.argv, done.returncode, done.stderr), "zfs destroy"
                )
            time.sleep(0.1)
        raise errors.FailedPrecondition(f"could not destroy {dataset}: still busy")


def no_dash(value: str) -> str:
    """zfs prints "-" for an unset property."""
    return "" if value == "-" else value
