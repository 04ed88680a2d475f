"""The compose project a stack on this host is, read as compose reads it (the -f files merged,
extends, include, env files, profiles: compose/project_files.py), and this host's compose
CLI's verdict on it. No grpc here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from stackferry.agent.errors import CommandFailed, InvalidArgument
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.runtime.compose import V1
from stackferry.compose import ComposeError
from stackferry.compose.project_files import LoadedProject, load_project

# What docker-compose 1.29 cannot run (compose/loader.py feature names): it stops on them, or
# worse, reads them differently from Compose v2.
V1_UNSUPPORTED = frozenset({"include", "!reset", "!override", "env_file long syntax"})


CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


def started_with(labels: Mapping[str, str]) -> tuple[str, ...]:
    """The -f list the project's containers were created with, from their labels (v1 writes
    the paths as given: a relative one is taken against the working_dir label); () without."""
    files = [f for f in labels.get(CONFIG_FILES_LABEL, "").split(",") if f]
    base = labels.get(WORKING_DIR_LABEL, "") or "/"
    return tuple(os.path.realpath(os.path.join(base, f)) for f in files)


def load_stack_project(compose_path: Path, project_name: str = "") -> LoadedProject:
    """InvalidArgument naming the file and line of what compose would refuse."""
    try:
        return load_project([str(compose_path)], explicit_name=project_name, home=str(Path.home()))
    except ComposeError as exc:
        raise InvalidArgument(str(exc)) from exc


def compose_check(
    runtime: ContainerRuntime, project: LoadedProject, compose_path: Path
) -> tuple[bool, str]:
    """(ok, why) of this host's compose CLI on the project: a feature its variant cannot run is
    named, else `config -q` on the file where it lies decides."""
    info = runtime.info()
    variant = f"{info['compose_variant']} {info['compose_version']}".strip()
    if info["compose_variant"] == V1:
        unsupported = sorted(project.required_features & V1_UNSUPPORTED)
        if unsupported:
            return False, f"{variant} cannot run {', '.join(unsupported)} (needs Compose v2)"
    try:
        runtime.compose_validate(project.project.name, str(compose_path))
    except CommandFailed as exc:
        return False, f"{variant} refuses it: {exc.stderr.strip()}"
    return True, f"valid for {variant}"
