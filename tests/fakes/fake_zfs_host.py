"""A host whose `zfs` is the FAKE OpenZFS of fake_openzfs_zfs.py (zfs-fuse has no resume):
an executable `zfs` wrapper bound to one state directory, for an agent's --zfs-binary, and
direct access to the fake's state for setting up and checking data."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FAKE = Path(__file__).with_name("fake_openzfs_zfs.py")


@dataclass
class FakeZfsHost:
    state: Path
    binary: Path

    @classmethod
    def create(cls, where: Path) -> FakeZfsHost:
        where.mkdir(parents=True)
        binary = where / "zfs"
        state = where / "state"
        binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" --state "{state}" "$@"\n')
        binary.chmod(0o755)
        return cls(state, binary)

    def zfs(self, *args: str) -> str:
        done = subprocess.run([str(self.binary), *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"fake zfs {' '.join(args)}: {done.stderr}")
        return done.stdout

    def get(self, name: str, prop: str) -> str:
        return (
            self.zfs("get", "-Hp", "-o", "name,property,value", prop, name).split("\t")[2].strip()
        )

    def files(self, dataset: str) -> Path:
        """The dataset's live files (the fake's "mountpoint")."""
        return self.state / "live" / dataset.replace("/", "%")

    def write(self, dataset: str, name: str, data: bytes) -> None:
        path = self.files(dataset) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def tree(self, dataset: str) -> dict[str, bytes]:
        root = self.files(dataset)
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    def exists(self, name: str) -> bool:
        done = subprocess.run(
            [str(self.binary), "get", "-Hp", "-o", "name,property,value", "guid", name],
            capture_output=True,
        )
        return done.returncode == 0
