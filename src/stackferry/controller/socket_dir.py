"""The private directory of an embedded controller's unix socket.

It lives in the system's temporary directory, not the state directory, because a unix
socket's path must stay under 108 bytes. Its name carries the CLI's pid: a CLI that is
killed cannot remove its own, so each new one removes the directories of processes that are
gone (only its own user's, and never one whose process still runs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "stackferry-"


def make_socket_dir() -> Path:
    """A new private directory (mode 0700) for this process's socket, after the sweep."""
    sweep_dead(Path(tempfile.gettempdir()))
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


def sweep_dead(parent: Path) -> list[Path]:
    """Removes `stackferry-<pid>-*` directories of ours whose process is gone; returns them."""
    removed = []
    for path in parent.glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue  # removed meanwhile by another CLI's sweep
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
