"""Both ends' rsync command lines, in one module: the server's flag string must be what the
client asks its remote shell to run, so the two are built from one list of options (and the
sender's agent checks, through the shim, that the client asked for exactly that).

Fixed options: archive (-a), deletions, numeric owners, hardlinks, ACLs, xattrs, sparse files,
exact mtimes.
An interrupted receive moves its half-written file into PARTIAL_DIR (rsync excludes that
name from deletions and removes it once the file is complete), never onto the file's name.
No --checksum unless asked: the quick check (size + mtime) finds what changed.
"""

from __future__ import annotations

import re

from stackferry.agent.errors import InvalidArgument

RSYNC = "rsync"
PARTIAL_DIR = ".stackferry-partial"
SHIM_HOST = "peer"  # the "host" rsync hands its remote shell; the shim ignores it

# --modify-window=-1: mtimes compared to the nanosecond (by default a directory whose
# mtime differs below the second keeps the wrong one, and the manifests differ).
_OPTIONS = ("-a", "--delete", "--numeric-ids", "-H", "-A", "-X", "-S", "--modify-window=-1")
# What rsync 3.x asks its remote shell to run for the options above (pushing to a server).
_SERVER_FLAGS = "-lHogDtpAXrSe.iLsfxCIvu"
_SERVER_FLAGS_CHECKSUM = "-lHogDtpAXrcSe.iLsfxCIvu"
_VERSION = re.compile(r"rsync\s+version\s+v?(\d+\.\d+\.\d+)")


def _tree_arg(directory: str) -> str:
    """A checked absolute directory, with the trailing slash that means "its contents"."""
    if not directory.startswith("/") or "\0" in directory:
        raise InvalidArgument(f"not an absolute directory: {directory!r}")
    return directory.rstrip("/") + "/"


def client_argv(source_dir: str, shim: list[str], checksum: bool = False) -> list[str]:
    """The sending agent's rsync: pushes source_dir's contents through the shim."""
    extra = ["--checksum"] if checksum else []
    return [
        RSYNC,
        *_OPTIONS,
        *extra,
        f"--partial-dir={PARTIAL_DIR}",
        "-e",
        " ".join(shim),
        _tree_arg(source_dir),
        f"{SHIM_HOST}:.",
    ]


def server_argv(target_dir: str, checksum: bool = False) -> list[str]:
    """The receiving agent's rsync --server, writing into target_dir."""
    flags = _SERVER_FLAGS_CHECKSUM if checksum else _SERVER_FLAGS
    return [
        RSYNC,
        "--server",
        flags,
        "--delete",
        "-@-1",
        "--partial-dir",
        PARTIAL_DIR,
        "--numeric-ids",
        ".",
        _tree_arg(target_dir),
    ]


def expected_remote_command(checksum: bool = False) -> list[str]:
    """What the client hands its remote shell after the host (the destination is "."), as
    the shim reports it: any difference means this rsync speaks other flags than the server's."""
    return [*server_argv("/", checksum)[:-1], "."]


def parse_version(output: str) -> str:
    """ "3.2.7" from `rsync --version`, "" if it does not say."""
    found = _VERSION.search(output)
    return found.group(1) if found else ""
