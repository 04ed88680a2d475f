"""Where a stack goes: datasets, path map, compose dir and the translated compose. Pure.

Each source dataset that holds a bind mount of the stack is received below
`spec.target_dataset` and mounted below `spec.target_base`, keeping its path relative to
the deepest dataset that contains all of them (so `tank/apps/web` and `tank/apps/web/db`
stay parent and child). The path map sends each source mountpoint to its target mountpoint,
plus the user's explicit mappings, longest prefix first.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stackferry.compose import Rewrite, RewriteKind, translate_compose, unified_diff
from stackferry.compose.paths import PathMap, normalize
from stackferry.controller.domain.model import (
    CarriedFilePlan,
    DatasetPlan,
    FileMove,
    MigrationSpec,
    MountEntry,
    Mover,
    PathMapping,
    SourceProject,
)
from stackferry.controller.domain.mounts import file_path_map, mover_of
from stackferry.controller.domain.project_plan import plan_project
from stackferry.controller.errors import InvalidArgument
from stackferry.hostapi import COMPRESSIONS, ProjectFile, StackInfo

DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*$")
ADDRESS = re.compile(r"^[^\s:]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$")
# Every round keeps a snapshot on both hosts until the cleanup; more than this does not converge.
MAX_CONVERGE_ROUNDS = 20


@dataclass(frozen=True)
class Plan:
    project_name: str
    datasets: tuple[DatasetPlan, ...]
    path_map: tuple[PathMapping, ...]
    compose_diff: str
    env_diff: str
    rewrites: tuple[Rewrite, ...]
    target_compose_dir: str
    total_bytes: int
    compose_filename: str
    compose_text: str  # translated
    env_text: str  # translated
    env_exists: bool
    mounts: tuple[MountEntry, ...] = ()  # every mount of every service and its mover
    files: tuple[FileMove, ...] = ()  # the trees the file mover copies
    # The compose project as the source runs it (project_plan.py; () from an agent that
    # reported the main file and .env alone): every file and where it lands, what the deploy
    # writes besides the main file and .env, the target -f / --env-file lists, the profiles,
    # the services to start, and what keeps a file from being carried.
    carried_files: tuple[CarriedFilePlan, ...] = ()
    deploy_files: tuple[ProjectFile, ...] = ()
    compose_files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    discovered_from: str = ""
    carry_problems: tuple[str, ...] = ()

    @property
    def refused(self) -> list[MountEntry]:
        return [m for m in self.mounts if m.mover is Mover.REFUSED]

    @property
    def target_compose_path(self) -> str:
        """Where the translated compose file lives on the target."""
        return posixpath.join(self.target_compose_dir, self.compose_filename)

    @property
    def untranslatable(self) -> list[Rewrite]:
        return [r for r in self.rewrites if r.kind == RewriteKind.UNTRANSLATABLE]


def _absolute(value: str, what: str) -> None:
    if not value.startswith("/") or normalize(value) != value.rstrip("/") or "\0" in value:
        raise InvalidArgument(f"{what}: {value!r} must be an absolute, normalised path")


def check_spec(spec: MigrationSpec) -> None:
    """InvalidArgument, naming the field, for a spec no migration could run."""
    if not spec.compose_path and not spec.project_name:
        raise InvalidArgument(
            "compose_path is required, unless project_name names a running project "
            "(its files are then read from its containers' labels)"
        )
    if spec.compose_path:
        _absolute(spec.compose_path, "compose_path")
    if spec.compose_files and spec.compose_files[0] != spec.compose_path:
        raise InvalidArgument(
            f"compose_files: the first file {spec.compose_files[0]!r} must be compose_path "
            f"({spec.compose_path!r})"
        )
    for path in (*spec.compose_files, *spec.env_files):
        _absolute(path, "compose_files" if path in spec.compose_files else "env_files")
    if len(set(spec.compose_files)) != len(spec.compose_files):
        raise InvalidArgument("compose_files: a file is given twice")
    for what, address in (("source_agent", spec.source_agent), ("target_agent", spec.target_agent)):
        if not ADDRESS.match(address):
            raise InvalidArgument(f"{what}: {address!r} is not HOST:PORT")
    bad_name = not DATASET_NAME.match(spec.target_dataset) or ".." in spec.target_dataset.split("/")
    if spec.target_dataset and bad_name:  # "": a stack whose data is all off ZFS
        raise InvalidArgument(
            f"target_dataset: {spec.target_dataset!r} is not a dataset name like pool/parent"
        )
    _absolute(spec.target_base, "target_base")
    if spec.target_compose_dir:
        _absolute(spec.target_compose_dir, "target_compose_dir")
    options = spec.options
    if options.verify_timeout_seconds <= 0:
        raise InvalidArgument("options.verify_timeout_seconds must be positive")
    if options.bandwidth_limit_bytes_per_second < 0:
        raise InvalidArgument("options.bandwidth_limit_bytes_per_second must be 0 or positive")
    if options.compression not in COMPRESSIONS:
        raise InvalidArgument(
            f"options.compression: {options.compression!r} is not one of {', '.join(COMPRESSIONS)}"
        )
    if not 0 <= options.converge_max_rounds <= MAX_CONVERGE_ROUNDS:
        raise InvalidArgument(
            f"options.converge_max_rounds must be 0 to {MAX_CONVERGE_ROUNDS}, "
            f"not {options.converge_max_rounds}"
        )
    if options.converge_target_seconds <= 0:
        raise InvalidArgument("options.converge_target_seconds must be positive")
    if options.final_parallelism < 1:
        raise InvalidArgument("options.final_parallelism must be at least 1")
    for mapping in options.path_maps:
        _absolute(mapping.source, "path map source")
        _absolute(mapping.target, "path map target")


def stack_datasets(stack: StackInfo, excludes: Sequence[str] = ()) -> dict[str, str]:
    """Dataset → mountpoint of every dataset that holds a mount of the stack the zfs mover
    moves (not an excluded one)."""
    found = {
        m.dataset: m.dataset_mountpoint
        for m in stack.mounts
        if m.dataset and mover_of(m, excludes)[0] is Mover.ZFS
    }
    return dict(sorted(found.items()))


def _common_parent(datasets: Sequence[str]) -> list[str]:
    """Components of the deepest dataset strictly above every one of `datasets`."""
    parents = [d.split("/")[:-1] for d in datasets]
    common = parents[0]
    for parts in parents[1:]:
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return common


def plan_datasets(
    mountpoints: Mapping[str, str], spec: MigrationSpec, estimates: Mapping[str, int]
) -> list[DatasetPlan]:
    """Source datasets → target datasets and mountpoints, parents before children."""
    if not mountpoints:
        return []
    names = sorted(mountpoints, key=lambda d: (d.count("/"), d))
    base = len(_common_parent(names))
    plans = []
    for name in names:
        relative = "/".join(name.split("/")[base:])
        plans.append(
            DatasetPlan(
                source_dataset=name,
                source_mountpoint=mountpoints[name],
                target_dataset=f"{spec.target_dataset}/{relative}",
                target_mountpoint=posixpath.join(spec.target_base, relative),
                estimated_bytes=estimates.get(name, 0),
            )
        )
    return plans


def plan_path_map(
    datasets: Sequence[DatasetPlan], spec: MigrationSpec, files: Sequence[FileMove] = ()
) -> list[PathMapping]:
    """Explicit mappings win over dataset mountpoints and moved directories for the same
    source; longest first."""
    chosen = {normalize(m.source): normalize(m.target) for m in spec.options.path_maps}
    for d in datasets:
        if d.source_mountpoint:
            chosen.setdefault(normalize(d.source_mountpoint), d.target_mountpoint)
    for mapping in file_path_map(files):
        chosen.setdefault(normalize(mapping.source), normalize(mapping.target))
    ordered = sorted(chosen.items(), key=lambda item: (-len(item[0]), item[0]))
    return [PathMapping(source, target) for source, target in ordered]


def translate_path(path: str, path_map: Sequence[PathMapping]) -> str:
    return PathMap.of([(m.source, m.target) for m in path_map]).translate(normalize(path))


def plan_compose_dir(source_dir: str, path_map: Sequence[PathMapping], spec: MigrationSpec) -> str:
    """spec.target_compose_dir if given, else the source dir translated (unchanged when no
    mapping covers it: the same directory on the target host)."""
    if spec.target_compose_dir:
        return normalize(spec.target_compose_dir)
    return translate_path(source_dir, path_map)


def build_plan(
    spec: MigrationSpec,
    project_name: str,
    compose_text: str,
    env_text: str,
    env_exists: bool,
    datasets: Sequence[DatasetPlan],
    files: Sequence[FileMove] = (),
    mounts: Sequence[MountEntry] = (),
    project: SourceProject | None = None,
) -> Plan:
    """The whole plan from what the source agent reported; ComposeError for a bad file."""
    path_map = plan_path_map(datasets, spec, files)
    if project is not None and project.files:
        return _project_plan(spec, project_name, project, datasets, files, mounts, path_map)
    source_dir = posixpath.dirname(spec.compose_path)
    compose_dir = plan_compose_dir(source_dir, path_map, spec)
    filename = posixpath.basename(spec.compose_path)
    translation = translate_compose(
        compose_text,
        env_text,
        source_dir,
        [(m.source, m.target) for m in path_map],
        target_project_dir=compose_dir,
    )
    return Plan(
        project_name=project_name,
        datasets=tuple(datasets),
        path_map=tuple(path_map),
        compose_diff=unified_diff(compose_text, translation.compose_text, filename),
        env_diff=unified_diff(env_text, translation.env_text, ".env"),
        rewrites=translation.rewrites,
        target_compose_dir=compose_dir,
        total_bytes=sum(d.estimated_bytes for d in datasets)
        + sum(f.estimated_bytes for f in files),
        compose_filename=filename,
        compose_text=translation.compose_text,
        env_text=translation.env_text,
        env_exists=env_exists,
        mounts=tuple(mounts),
        files=tuple(files),
    )


def _project_plan(
    spec: MigrationSpec,
    project_name: str,
    project: SourceProject,
    datasets: Sequence[DatasetPlan],
    files: Sequence[FileMove],
    mounts: Sequence[MountEntry],
    path_map: Sequence[PathMapping],
) -> Plan:
    """The plan of a whole compose project, every file of it carried (project_plan.py)."""
    trees = [(d.source_mountpoint, d.target_mountpoint) for d in datasets if d.source_mountpoint]
    trees += [(f.source_path, f.target_path) for f in files if f.source_path]
    carried = plan_project(
        project,
        project_name,
        [(m.source, m.target) for m in path_map],
        plan_compose_dir(project.project_dir, path_map, spec),
        trees,
    )
    return Plan(
        project_name=project_name,
        datasets=tuple(datasets),
        path_map=tuple(path_map),
        compose_diff=carried.compose_diff,
        env_diff=carried.env_diff,
        rewrites=carried.rewrites,
        target_compose_dir=carried.compose_dir,
        total_bytes=sum(d.estimated_bytes for d in datasets)
        + sum(f.estimated_bytes for f in files),
        compose_filename=carried.compose_filename,
        compose_text=carried.compose_text,
        env_text=carried.env_text,
        env_exists=carried.env_exists,
        mounts=tuple(mounts),
        files=tuple(files),
        carried_files=carried.carried,
        deploy_files=carried.deploy_files,
        compose_files=carried.compose_files,
        env_files=carried.env_files,
        profiles=project.profiles,
        services=project.running_services,
        discovered_from=project.discovered_from,
        carry_problems=carried.problems,
    )
