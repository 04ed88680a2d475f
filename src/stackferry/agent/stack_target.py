"""A DeployRequest made safe to run: every path it writes checked against the allowed roots
(after resolving), the whole compose project it describes read as compose will read it (the
request's files over this host's), and a scratch copy of it for `compose config -q`. No grpc.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from stackferry.agent.errors import AgentError, InvalidArgument
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.compose import ComposeFiles
from stackferry.agent.stack_project import load_stack_project
from stackferry.compose import ComposeError, PortBinding, load_compose, translate_compose
from stackferry.compose.paths import is_within
from stackferry.compose.project_files import LoadedProject, read_host_file
from stackferry.hostapi import DeployRequest

DEFAULT_COMPOSE_FILENAME = "docker-compose.yml"
_COMPOSE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$")


@dataclass(frozen=True)
class Write:
    path: Path  # resolved inside the roots
    content: bytes
    mode: int
    kind: str
    owner: tuple[int, int] | None = None  # (uid, gid) a carried file is given


@dataclass(frozen=True)
class DeployTarget:
    """What a deploy writes, and the project compose runs once it is written."""

    project: LoadedProject
    files: ComposeFiles
    compose_path: Path
    env_path: Path
    mounts: tuple[tuple[str, str], ...]
    writes: tuple[Write, ...]  # the compose file, the .env (write_env), every carried file
    services: tuple[str, ...]  # what `up` starts, in start order
    refused: tuple[str, ...]  # "PATH: why" for each file that cannot be written here
    named: bool = False  # the request listed the services (else `up` is given none)

    @property
    def up_services(self) -> tuple[str, ...]:
        return self.services if self.named else ()

    @property
    def name(self) -> str:
        return self.project.project.name


def deploy_target(roots: Roots, request: DeployRequest) -> DeployTarget:
    """InvalidArgument / PermissionDenied for a bad compose dir, file name or mount; a carried
    file that cannot be written is listed in `refused` (CheckDeploy names each)."""
    filename = request.compose_filename or DEFAULT_COMPOSE_FILENAME
    if not _COMPOSE_FILENAME.match(filename):
        raise InvalidArgument(f"invalid compose file name {filename!r}")
    compose_dir = Path(roots.check_path(request.compose_dir))
    if compose_dir.exists() and not compose_dir.is_dir():
        raise InvalidArgument(f"{request.compose_dir} exists and is not a directory")
    mounts = tuple(
        (roots.check_dataset(dataset), roots.check_path(mountpoint))
        for dataset, mountpoint in request.mounts
    )
    compose_path, env_path = compose_dir / filename, compose_dir / ".env"
    for written in (compose_path, env_path):
        roots.check_path(str(written))  # a symlink out of the roots is never followed
    first = os.path.normpath(os.path.join(request.compose_dir, filename))
    if request.compose_files and os.path.normpath(request.compose_files[0]) != first:
        raise InvalidArgument(
            f"compose_files[0] is {request.compose_files[0]}, not the compose file written, {first}"
        )
    writes = [Write(compose_path, request.compose_text.encode(), 0o600, "compose")]
    if request.write_env:
        writes.append(Write(env_path, request.env_text.encode(), 0o600, "env"))
    refused: list[str] = []
    for carried in request.files:
        if not carried.exists:
            continue  # an optional env_file absent on the source is absent here too
        try:
            path = Path(roots.check_path(os.path.normpath(carried.path)))
        except AgentError as exc:
            refused.append(f"{carried.path}: {exc}")
            continue
        if any(w.path == path for w in writes):
            raise InvalidArgument(f"{carried.path} is written twice by this deploy")
        mode, owner = (carried.mode & 0o777) or 0o644, (carried.uid, carried.gid)
        writes.append(Write(path, carried.content, mode, carried.kind, owner))
    paths_written = {str(w.path) for w in writes}
    named = {"compose": request.compose_files[1:], "env": request.env_files}
    checked: dict[str, list[str]] = {"compose": [str(compose_path)], "env": []}
    for kind, paths in named.items():
        for given in paths:
            try:
                resolved = roots.check_path(os.path.normpath(given))
            except AgentError as exc:
                refused.append(f"{given}: {exc}")
                continue
            if resolved not in paths_written and not os.path.isfile(resolved):
                refused.append(f"{given}: named for compose but neither carried nor here")
            checked[kind].append(resolved)
    files = ComposeFiles(tuple(checked["compose"]), tuple(checked["env"]), request.profiles)
    project = _project(files, request.project_name, writes)
    unknown = sorted(set(request.services) - set(project.services))
    if unknown:
        raise InvalidArgument(f"services not in the compose project: {', '.join(unknown)}")
    order = project.start_order()
    services = tuple(s for s in order if s in request.services) if request.services else ()
    return DeployTarget(
        project,
        files,
        compose_path,
        env_path,
        mounts,
        tuple(writes),
        services or tuple(order),
        tuple(refused),
        bool(services),
    )


def overwritten(roots: Roots, request: DeployRequest, own: Sequence[str]) -> list[str]:
    """ "PATH: why" for each carried file (and the .env it writes) the deploy would write over
    a file here that holds other bytes and is not the migration's own (`own`: the paths of
    what it made here: its received data, the files and dirs an earlier deploy or pre-create
    of it wrote). A carried file is never allowed to replace a file of the host's silently:
    Discard could not give it back."""
    written = [(c.path, c.content) for c in request.files if c.exists]
    if request.write_env:
        env_path = os.path.join(request.compose_dir, ".env")
        written.append((env_path, request.env_text.encode("utf-8", "surrogateescape")))
    refused = []
    for given, content in written:
        try:
            path = roots.check_path(os.path.normpath(given))
        except AgentError:
            continue  # refused by deploy_target, with its reason
        if not os.path.lexists(path) or any(is_within(path, mine) for mine in own):
            continue
        if not os.path.isfile(path):
            refused.append(f"{given}: exists here and is not a file")
        elif Path(path).read_bytes() != content:
            refused.append(
                f"{given}: exists here with other content, not written by this "
                "migration (move it away, or carry the project to another directory)"
            )
    return refused


def port_is_free(port: PortBinding) -> bool:
    kind = socket.SOCK_DGRAM if port.protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in port.host_ip else socket.AF_INET
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((port.host_ip, port.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def compose_dir_conflict(target: DeployTarget, compose_text: str) -> str:
    """Why the compose file cannot be written there ("" when it can): it holds another
    project's compose file. The same text, or the same project, may be deployed again."""
    path = target.compose_path
    if not path.is_file() or path.read_text() == compose_text:
        return ""
    env_text = target.env_path.read_text() if target.env_path.is_file() else ""
    try:
        other = load_compose(
            path.read_text(), env_text, str(path.parent), home=os.path.expanduser("~")
        ).project_name
    except ComposeError:
        other = "an unreadable compose file"
    if other == target.name:
        return ""
    return f"{path} already holds the compose file of project {other!r}"


def _project(files: ComposeFiles, project_name: str, writes: list[Write]) -> LoadedProject:
    """The project as compose will read it once the writes are done: their texts over this
    host's files (a file not written is read where it is)."""
    texts = {str(w.path): w.content.decode("utf-8", "surrogateescape") for w in writes}

    def read(path: str) -> str | None:
        return texts[path] if path in texts else read_host_file(path)

    return load_stack_project(files, project_name, read)


def scratch_copy(target: DeployTarget, scratch: Path) -> ComposeFiles:
    """Every file the deploy writes, at its own path below `scratch` (relative layouts kept),
    with this host's .env when the deploy keeps it; the ComposeFiles that name the copy (a
    listed file the deploy does not write is named where it is). A compose file's absolute
    paths into a written file's directory are translated into the copy too, as compose
    would otherwise look for (and miss) a file the deploy has not written yet."""
    keep_env = target.env_path.is_file() and all(w.path != target.env_path for w in target.writes)
    extra = [Write(target.env_path, target.env_path.read_bytes(), 0o600, "env")] if keep_env else []
    writes = [*target.writes, *extra]
    into = sorted({str(w.path.parent) for w in writes})
    path_map = [(d, str(scratch) + d) for d in into]
    copied: dict[str, str] = {}
    for write in writes:
        copy = scratch / str(write.path).lstrip("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        bases = target.project.bases
        copy.write_bytes(in_scratch(bases, str(write.path), write.content, path_map, str(scratch)))
        copied[str(write.path)] = str(copy)
    return replace(
        target.files,
        files=tuple(copied.get(f, f) for f in target.files.files),
        env_files=tuple(copied.get(f, f) for f in target.files.env_files),
    )


def in_scratch(
    bases: Mapping[str, tuple[str, tuple[str, ...]]],
    path: str,
    content: bytes,
    path_map: list[tuple[str, str]],
    scratch: str,
) -> bytes:
    """A file's bytes for its copy below `scratch`: a compose file (one of `bases`, the
    project's) with its absolute paths into `path_map`'s directories moved there too."""
    base = bases.get(path)
    if base is None:
        return content  # not a compose file
    text = content.decode("utf-8", "surrogateescape")
    try:
        moved = translate_compose(
            text, "", base[0], path_map, os.path.expanduser("~"), scratch + base[0], False
        )
    except ComposeError:
        return content  # then compose says what it makes of the file itself
    if moved.untranslatable:
        return content
    return moved.compose_text.encode("utf-8", "surrogateescape")
