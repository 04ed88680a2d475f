"""A compose project as compose reads it: the `-f` files in order (or the default file and its
override), `include:`d files, `extends:`, the `.env` or `--env-file`s, env files, secrets and
configs files, and the active profiles.

Files are read through `read(path) -> text | None` (None: no such file), so the agent reads
its own host (`read_host_file`) and the controller reads the texts an agent sent it. Nothing
else touches a filesystem.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from stackferry.compose.document import MappingNode, mapping_items
from stackferry.compose.errors import ComposeError
from stackferry.compose.loader import Loader, env_paths
from stackferry.compose.model import ComposeFile, ServiceSpec, resolved_model
from stackferry.compose.paths import absolute_dir, is_within, normalize
from stackferry.compose.profiles import ServiceInfo, active_profiles, service_infos
from stackferry.compose.profiles import start_order as _start_order
from stackferry.compose.profiles import stop_order as _stop_order
from stackferry.compose.project import project_name
from stackferry.compose.resolve import Interpolation, plain

Read = Callable[[str], "str | None"]

DEFAULT_FILES = {
    "v2": ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"),
    "v1": ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"),
}
OVERRIDE_FILES = {
    "v2": (
        "compose.override.yaml",
        "compose.override.yml",
        "docker-compose.override.yaml",
        "docker-compose.override.yml",
    ),
    "v1": (
        "docker-compose.override.yml",
        "docker-compose.override.yaml",
        "compose.override.yml",
        "compose.override.yaml",
    ),
}


def read_host_file(path: str) -> str | None:
    """The text of a file on this host; None when it does not exist. Bytes that are not UTF-8
    are kept as surrogates: a secrets file may be binary, and only its existence is read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def default_files(
    project_dir: str, exists: Callable[[str], bool] = os.path.isfile, variant: str = "v2"
) -> tuple[str, ...]:
    """The file compose uses without `-f`, then its override when there is one; () for none."""
    directory = absolute_dir(project_dir, "project directory")
    found: list[str] = []
    for names in (DEFAULT_FILES[variant], OVERRIDE_FILES[variant]):
        first = next((n for n in names if exists(posixpath.join(directory, n))), None)
        if first is not None:
            found.append(posixpath.join(directory, first))
        if not found:
            return ()
    return tuple(found)


@dataclass(frozen=True)
class CarriedFile:
    """A file the project consists of, which a migration carries to the target."""

    path: str  # absolute on the source
    kind: str  # compose, include, extends, env, env_file, secret, config
    relative: str  # relative to the project directory; "" when outside it
    owner: str = ""  # the compose file that names it ("" for the -f files and the .env)
    required: bool = True
    exists: bool = True

    @property
    def outside(self) -> bool:
        return not self.relative


@dataclass(frozen=True)
class ComposeProject:
    project_dir: str
    files: tuple[str, ...]  # the -f list, in order
    env_files: tuple[str, ...]  # the interpolation env files really read (.env or --env-file)
    profiles: tuple[str, ...]  # the enabled profiles
    name: str


@dataclass(frozen=True)
class LoadedProject:
    project: ComposeProject
    model: ComposeFile  # the merged project, active services only
    all_services: tuple[ServiceSpec, ...]
    services: Mapping[str, ServiceInfo]
    carried_files: tuple[CarriedFile, ...]
    required_features: frozenset[str]
    texts: Mapping[str, str]  # every file read, by path
    root: MappingNode  # the merged, resolved project (every service)
    # each compose file (-f, included, extended) -> (its base directory, its env files)
    bases: Mapping[str, tuple[str, tuple[str, ...]]]

    def config(self) -> dict[str, object]:
        """The merged project as data (values interpolated, host paths absolute)."""
        data = plain(self.root)
        assert isinstance(data, dict)
        return data

    @property
    def uses_include(self) -> bool:
        return "include" in self.required_features

    @property
    def active_services(self) -> list[str]:
        return [name for name, info in self.services.items() if info.active]

    def stop_order(self) -> list[str]:
        return _stop_order(self.services, self.active_services)

    def start_order(self) -> list[str]:
        return _start_order(self.services, self.active_services)


def load_project(
    files: Sequence[str],
    project_dir: str | None = None,
    env_files: Sequence[str] = (),
    profiles: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    explicit_name: str = "",
    home: str = "/root",
    read: Read = read_host_file,
    exists: Callable[[str], bool] | None = None,
) -> LoadedProject:
    """The project `compose -f F1 -f F2 --env-file E --profile P` runs (`profiles` None:
    COMPOSE_PROFILES from `environ`, else from the env files). `exists` says whether a
    secrets/configs file is there (default: `read` it), for a caller that has only texts."""
    if not files:
        raise ComposeError("a compose project needs at least one compose file")
    paths = tuple(absolute_dir(f, "compose file path") for f in files)
    base = (
        absolute_dir(project_dir, "project directory")
        if project_dir
        else posixpath.dirname(paths[0])
    )
    environ = dict(environ) if environ is not None else {"HOME": home}
    environ.setdefault("HOME", home)
    loader = Loader(read, home, environ, exists)
    used_env = env_paths(loader, [absolute_dir(e, "--env-file path") for e in env_files], base)
    dotenv = loader.env_values(used_env, "env", "")
    root = loader.load_files(
        paths, base, Interpolation(dotenv, environ, home, tuple(used_env)), "compose", ""
    )
    top = mapping_items(root, "the compose project")
    if "services" not in top:
        raise ComposeError("the compose project has no services:", file=paths[0])
    spec = environ.get("COMPOSE_PROFILES", dotenv.get("COMPOSE_PROFILES", ""))
    enabled = frozenset(profiles) if profiles is not None else active_profiles(spec)
    infos = service_infos(top["services"][1], enabled)
    name = project_name(top, {**dotenv, **environ}, environ, base, explicit_name)
    active = {n for n, info in infos.items() if info.active}
    model = resolved_model(root, name, base, home, active)
    everything = resolved_model(root, name, base, home)
    project = ComposeProject(base, paths, tuple(used_env), tuple(sorted(enabled)), name)
    carried = tuple(_carried(f, base) for f in loader.carried.values())
    features = frozenset(
        loader.features | ({"profiles"} if any(i.profiles for i in infos.values()) else set())
    )
    return LoadedProject(
        project,
        model,
        everything.services,
        infos,
        carried,
        features,
        dict(loader.texts),
        root,
        dict(loader.bases),
    )


def _carried(entry: tuple[str, str, str, bool, bool], base: str) -> CarriedFile:
    path, kind, owner, required, exists = entry
    relative = posixpath.relpath(path, base) if is_within(normalize(path), base) else ""
    return CarriedFile(path, kind, relative, owner, required, exists)
