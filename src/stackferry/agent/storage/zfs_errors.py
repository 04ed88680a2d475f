"""zfs stderr -> typed agent errors, so a caller gets NOT_FOUND / ALREADY_EXISTS / ... not INTERNAL.

The phrases are those of zfs-fuse 0.7 and OpenZFS 2.x (libzfs's messages), matched on
lower-cased stderr; the first matching rule wins, so the specific phrases come first.
"""

from __future__ import annotations

from stackferry.agent import errors

_RULES: tuple[tuple[str, type[errors.AgentError]], ...] = (
    ("does not match incremental source", errors.FailedPrecondition),
    ("has been modified", errors.FailedPrecondition),
    ("most recent snapshot", errors.FailedPrecondition),
    ("must specify -f to overwrite", errors.AlreadyExists),
    ("already exists", errors.AlreadyExists),
    ("out of space", errors.ResourceExhausted),
    ("no space left", errors.ResourceExhausted),
    ("quota exceeded", errors.ResourceExhausted),
    ("incremental source", errors.NotFound),
    ("dataset does not exist", errors.NotFound),
    ("does not exist", errors.NotFound),
    ("no such pool", errors.NotFound),
    ("no such tag", errors.NotFound),
    ("dataset is busy", errors.FailedPrecondition),
    ("pool is busy", errors.FailedPrecondition),
    ("it has holds", errors.FailedPrecondition),
    ("has dependent clones", errors.FailedPrecondition),
    ("invalid backup stream", errors.FailedPrecondition),
    ("not an earlier snapshot", errors.InvalidArgument),
    ("checksum mismatch", errors.FailedPrecondition),
    ("pyzfs.py not found", errors.FailedPrecondition),
    ("permission denied", errors.PermissionDenied),
    ("invalid character", errors.InvalidArgument),
    ("invalid option", errors.InvalidArgument),
    ("invalid property", errors.InvalidArgument),
    ("unrecognized command", errors.FailedPrecondition),
)


def classify(stderr: str) -> type[errors.AgentError] | None:
    text = stderr.lower()
    for phrase, cls in _RULES:
        if phrase in text:
            return cls
    return None


def zfs_error(exc: errors.CommandFailed, action: str = "") -> errors.AgentError:
    """A typed error for a failed zfs command (CommandFailed itself when nothing matches)."""
    cls = classify(exc.stderr)
    if cls is None:
        return exc
    prefix = f"{action}: " if action else ""
    return cls(f"{prefix}{exc.stderr or exc}")
