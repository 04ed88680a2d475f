"""The project a running container was started from, as compose labels it.

Both compose versions label every container with the project's working directory, its `-f`
files in order (comma separated) and, when `--env-file` was given, the env files. Compose v2
writes absolute paths; docker-compose v1 writes each `-f` path as it was typed (relative to
the shell's directory, which is the working directory when compose ran from there), so a
relative one is read against the working directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stackferry.compose.paths import normalize

WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
ENVIRONMENT_FILE = "com.docker.compose.project.environment_file"


@dataclass(frozen=True)
class LabelledProject:
    working_dir: str  # "" when the container has no compose labels
    files: tuple[str, ...]  # absolute, in -f order; () when compose read stdin or is unknown
    env_files: tuple[str, ...]  # absolute; () when only the default .env was read


def project_from_labels(labels: Mapping[str, str]) -> LabelledProject:
    working_dir = labels.get(WORKING_DIR, "")
    if not working_dir.startswith("/"):
        return LabelledProject("", (), ())
    base = normalize(working_dir)
    return LabelledProject(
        base,
        _paths(labels.get(CONFIG_FILES, ""), base),
        _paths(labels.get(ENVIRONMENT_FILE, ""), base),
    )


def _paths(label: str, base: str) -> tuple[str, ...]:
    return tuple(normalize(posixpath.join(base, p.strip())) for p in label.split(",") if p.strip())


def files_conflict(explicit: Sequence[str], labelled: LabelledProject) -> str:
    """Why an explicit `--compose` list disagrees with the labels ("" when it does not)."""
    if not labelled.files or tuple(normalize(p) for p in explicit) == labelled.files:
        return ""
    return (
        f"the --compose files ({', '.join(explicit)}) are not the files the stack was started with "
        f"({', '.join(labelled.files)}, from the containers' {CONFIG_FILES} label): the explicit "
        "list is used"
    )
