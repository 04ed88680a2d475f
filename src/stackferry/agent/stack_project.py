"""The compose project a stack on this host is, read as compose reads it (the -f files merged,
extends, include, env files, profiles: compose/project_files.py): which files it was started
with (explicit, from its containers' labels, or compose's defaults), every file it carries
with its bytes, and this host's compose CLI's verdict on it. No grpc here."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stackferry.agent.errors import CommandFailed, InvalidArgument, NotFound
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.runtime.compose import V1, ComposeFiles
from stackferry.compose import ComposeError, normalise_project_name
from stackferry.compose.project_files import (
    DEFAULT_FILES,
    OVERRIDE_FILES,
    LoadedProject,
    Read,
    load_project,
    read_host_file,
)
from stackferry.hostapi import ProjectFile

# What docker-compose 1.29 cannot run (compose/loader.py feature names): it stops on them, or
# worse, reads them differently from Compose v2.
V1_UNSUPPORTED = frozenset({"include", "!reset", "!override", "env_file long syntax"})
MAX_CARRIED_BYTES = 4 * 1024 * 1024  # a bigger file belongs in the migrated data

CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
ENV_FILE_LABEL = "com.docker.compose.project.environment_file"
_MAX_SIBLINGS = 10_000  # directories looked at for where a `../x/a.yml` was given from


@dataclass(frozen=True)
class StackFiles:
    """What compose is told the project is here, and how that was found."""

    files: ComposeFiles
    discovered_from: str  # explicit, labels, default


def label_paths(labels: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the -f list, the --env-file list) the containers were created with, absolute; ((), ())
    without labels. docker-compose 1.29 writes both as given on its command line, relative to
    the directory it ran in, which no label names: a directory from which the first file
    leads to working_dir (the first file's directory, without --project-directory). When
    more than one such directory has every file, and they read different files, which one
    compose ran in is not known: InvalidArgument naming them (pass --compose)."""
    files = [f for f in labels.get(CONFIG_FILES_LABEL, "").split(",") if f]
    envs = [f for f in labels.get(ENV_FILE_LABEL, "").split(",") if f]
    working_dir = labels.get(WORKING_DIR_LABEL, "") or "/"
    if not files:
        return (), tuple(os.path.realpath(os.path.join(working_dir, e)) for e in envs)

    def from_dir(ran_in: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        def absolute(path: str) -> str:
            return os.path.realpath(os.path.join(ran_in, path))

        return tuple(map(absolute, files)), tuple(map(absolute, envs))

    fitting = _command_dirs(files[0], working_dir)
    complete = {d: from_dir(d) for d in fitting if all(map(os.path.isfile, from_dir(d)[0]))}
    readings = set(complete.values())
    if len(readings) > 1:
        dirs = sorted(next(d for d, r in complete.items() if r == one) for one in readings)
        raise InvalidArgument(
            f"the containers' {CONFIG_FILES_LABEL} label ({', '.join(files)}) reads "
            f"different files from {' and from '.join(dirs)}, and which directory compose "
            "ran in is not recorded: name the compose files (--compose)"
        )
    if readings:
        return readings.pop()
    return from_dir(fitting[0] if fitting else working_dir)


def _command_dirs(first: str, working_dir: str) -> list[str]:
    """The directories compose may have run in: from which `first` lies in working_dir.
    Among working_dir and its ancestors; and, when `first` climbs up (`../proj/a.yml`), every
    directory as deep below the common ancestor it climbs from (a sibling of proj)."""
    ancestors = [working_dir]
    while os.path.dirname(ancestors[-1]) != ancestors[-1]:
        ancestors.append(os.path.dirname(ancestors[-1]))

    def fits(candidate: str) -> bool:
        return os.path.dirname(os.path.normpath(os.path.join(candidate, first))) == working_dir

    fitting = [c for c in ancestors if fits(c)]
    parts = os.path.normpath(first).split(os.sep)
    ups = len(list(itertools.takewhile(lambda p: p == "..", parts)))
    if ups and not os.path.isabs(first):
        below = os.path.normpath(os.path.join(working_dir, *([".."] * (len(parts) - ups - 1))))
        level = [below]
        for _ in range(ups):
            level = [
                os.path.join(d, e.name)
                for d in level
                if os.path.isdir(d)
                for e in os.scandir(d)
                if e.is_dir(follow_symlinks=False)
            ][:_MAX_SIBLINGS]
        fitting += [d for d in level if d not in fitting and fits(d)]
    return fitting


def started_with(labels: Mapping[str, str]) -> tuple[str, ...]:
    """The -f list of the labels, () when they say none or cannot say which (the files
    given explicitly are what is read then)."""
    try:
        return label_paths(labels)[0]
    except InvalidArgument:
        return ()


def stack_files(
    roots: Roots,
    runtime: ContainerRuntime,
    compose_path: str,
    project_name: str,
    compose_files: Sequence[str] = (),
    env_files: Sequence[str] = (),
) -> StackFiles:
    """The -f list and env files of the stack: `compose_files` when given; else compose_path
    alone, or, when no container of the project carries labels to say how it was started,
    beside compose's default file its override, as compose finds them; else, with neither,
    the -f list project_name's containers' labels name. Every path is checked against the
    allowed roots."""
    envs = tuple(roots.check_path(e) for e in env_files)
    if compose_files:
        return StackFiles(ComposeFiles(_existing(roots, compose_files), envs), "explicit")
    if not compose_path:
        return _from_labels(roots, runtime, project_name, envs)
    main = _existing(roots, [compose_path])[0]
    labelled = runtime.project_labels(_project_name(main, project_name)).get(CONFIG_FILES_LABEL)
    override = () if labelled else _override(main, _variant(runtime))
    if override:
        return StackFiles(ComposeFiles((main, *override), envs), "default")
    return StackFiles(ComposeFiles((main,), envs), "explicit")


def _from_labels(
    roots: Roots, runtime: ContainerRuntime, project_name: str, envs: tuple[str, ...]
) -> StackFiles:
    project = normalise_project_name(project_name)
    if not project:
        raise InvalidArgument(
            "no compose file given: name the compose files, or the project name to find them "
            "from its containers' labels"
        )
    labels = runtime.project_labels(project)
    if not labels:
        raise NotFound(
            f"project {project!r} has no containers on this host to find its compose files "
            "from: name the compose files"
        )
    label_files, label_envs = label_paths(labels)
    if not label_files:
        raise InvalidArgument(
            f"the containers of project {project!r} carry no {CONFIG_FILES_LABEL} label (not "
            "started by compose?): name the compose files"
        )
    found = ComposeFiles(_existing(roots, label_files), envs or _inside(roots, label_envs))
    return StackFiles(found, "labels")


def _existing(roots: Roots, paths: Sequence[str]) -> tuple[str, ...]:
    checked = tuple(roots.check_path(p) for p in paths)
    for given, path in zip(paths, checked, strict=True):
        if not os.path.isfile(path):
            raise NotFound(f"no compose file at {given}")
    return checked


def _inside(roots: Roots, paths: Sequence[str]) -> tuple[str, ...]:
    return tuple(roots.check_path(p) for p in paths)


def _project_name(main: str, explicit: str) -> str:
    """The name compose gives the project, to find its containers (their labels)."""
    if explicit:
        return normalise_project_name(explicit)
    try:
        return load_stack_project(ComposeFiles.of(main)).project.name
    except InvalidArgument:
        return normalise_project_name(os.path.basename(os.path.dirname(main)))


def _variant(runtime: ContainerRuntime) -> str:
    return "v1" if runtime.info()["compose_variant"] == V1 else "v2"


def _override(main: str, variant: str) -> tuple[str, ...]:
    """compose's override file beside `main` when `main` is the file compose uses by default."""
    directory, name = os.path.split(main)
    if name not in DEFAULT_FILES[variant]:
        return ()
    found = (os.path.join(directory, n) for n in OVERRIDE_FILES[variant])
    return tuple(p for p in found if os.path.isfile(p))[:1]


def load_stack_project(
    files: ComposeFiles, project_name: str = "", read: Read = read_host_file
) -> LoadedProject:
    """InvalidArgument naming the file and line of what compose would refuse."""
    try:
        return load_project(
            files.files,
            env_files=files.env_files,
            profiles=files.profiles or None,
            explicit_name=project_name,
            home=os.path.expanduser("~"),
            read=read,
        )
    except ComposeError as exc:
        raise InvalidArgument(str(exc)) from exc


def project_files(project: LoadedProject, roots: Roots) -> tuple[ProjectFile, ...]:
    """Every file the project carries, in load order, with its bytes and mode. One that cannot
    be carried is refused by name: outside the allowed roots (this agent sends nothing from
    elsewhere), unreadable, or over MAX_CARRIED_BYTES."""
    carried = []
    for entry in project.carried_files:
        if not entry.exists:
            carried.append(
                ProjectFile(entry.path, entry.kind, entry.relative, b"", entry.owner, False)
            )
            continue
        roots.check_path(entry.path)
        try:
            with open(entry.path, "rb") as handle:
                found = os.fstat(handle.fileno())
                content = handle.read(MAX_CARRIED_BYTES + 1)
        except OSError as exc:
            raise InvalidArgument(f"{entry.path}: cannot be read to carry it: {exc}") from exc
        if len(content) > MAX_CARRIED_BYTES:
            raise InvalidArgument(
                f"{entry.path} ({entry.kind}) is over {MAX_CARRIED_BYTES // 2**20} MiB: too big "
                "to carry as a project file; put it in the migrated data"
            )
        mode = stat.S_IMODE(found.st_mode)
        carried.append(
            ProjectFile(
                entry.path,
                entry.kind,
                entry.relative,
                content,
                entry.owner,
                True,
                mode,
                found.st_uid,
                found.st_gid,
            )
        )
    return tuple(carried)


def compose_check(
    runtime: ContainerRuntime, project: LoadedProject, files: ComposeFiles
) -> tuple[bool, str]:
    """(ok, why) of this host's compose CLI on the project: a feature its variant cannot run is
    named, else `config -q` on the files where they lie decides."""
    info = runtime.info()
    variant = f"{info['compose_variant']} {info['compose_version']}".strip()
    if info["compose_variant"] == V1:
        unsupported = sorted(project.required_features & V1_UNSUPPORTED)
        if unsupported:
            return False, f"{variant} cannot run {', '.join(unsupported)} (needs Compose v2)"
    try:
        runtime.compose_validate(project.project.name, files)
    except CommandFailed as exc:
        return False, f"{variant} refuses it: {exc.stderr.strip()}"
    except InvalidArgument as exc:
        return False, str(exc)
    return True, f"valid for {variant}"
