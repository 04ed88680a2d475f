"""Helpers for the file mover's tests: two real agents, a tree with every kind of entry, and
what `stat` says about each entry (compared between the source and the target)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import AgentProcess

from stackferry.controller.agents import AgentDialer
from stackferry.controller.ports import AgentClient
from stackferry.hostapi import FileTransfer, FileTree, TransferResult

STAT_FORMAT = "%n %F %a %u %g %s %h %Y %N"


def start_pair(
    start_agent: Callable[..., AgentProcess], source_root: Path, target_root: Path
) -> tuple[AgentProcess, AgentProcess]:
    """Directory-only agents (no ZFS on either), each with its own path root."""
    flags = ("--insecure", "--storage-backend", "directory")
    source_root.mkdir(parents=True, exist_ok=True)
    target_root.mkdir(parents=True, exist_ok=True)
    source = start_agent(*flags, "--allowed-path-root", str(source_root))
    target = start_agent(*flags, "--allowed-path-root", str(target_root))
    return source, target


def clients(
    source: AgentProcess, target: AgentProcess, migration_id: str = "m-files"
) -> tuple[AgentClient, AgentClient, AgentDialer]:
    dialer = AgentDialer()
    return (
        dialer.dial(source.address, migration_id),
        dialer.dial(target.address, migration_id),
        dialer,
    )


def push(
    source: AgentClient, target: AgentClient, src: FileTree, dst: FileTree, **options: object
) -> TransferResult:
    """One pass; returns its result (raises what the pass raised)."""
    call = source.push_files(FileTransfer(src, dst, **options), target)  # type: ignore[arg-type]
    results = [event for event in call if isinstance(event, TransferResult)]
    assert len(results) == 1
    return results[0]


def make_tree(root: Path) -> None:
    """Regular files, an empty dir, symlinks (one out of the tree), a hardlink pair, a sparse
    file, a 0600 file owned by uid 1000, an xattr, an ACL."""
    (root / "empty").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "hello.txt").write_text("hello\n")
    (root / "sub" / "random.bin").write_bytes(os.urandom(3 << 20))
    (root / "link").symlink_to("hello.txt")
    (root / "sub" / "outside").symlink_to("/etc/hostname")
    (root / "a-hard").write_text("one inode, two names\n")
    os.link(root / "a-hard", root / "sub" / "b-hard")
    with open(root / "sparse.img", "wb") as f:
        f.truncate(16 << 20)
        f.seek(8 << 20)
        f.write(b"middle")
    secret = root / "secret"
    secret.write_text("for uid 1000 only\n")
    os.chown(secret, 1000, 1000)
    secret.chmod(0o600)
    subprocess.run(
        ["setfattr", "-n", "user.color", "-v", "blue", str(root / "hello.txt")], check=True
    )
    subprocess.run(["setfacl", "-m", "u:1000:r", str(root / "sub" / "random.bin")], check=True)


def stats(root: Path) -> list[str]:
    """`stat` of every entry (inode numbers and ctimes differ by nature; not printed)."""
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    out = subprocess.run(
        ["stat", "-c", STAT_FORMAT, *paths], cwd=root, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def xattr(path: Path, name: str) -> bytes:
    return os.getxattr(path, name, follow_symlinks=False)


def acl(path: Path) -> str:
    return subprocess.run(
        ["getfacl", "-cn", str(path)], capture_output=True, text=True, check=True
    ).stdout


def allocated(path: Path) -> int:
    return os.lstat(path).st_blocks * 512
