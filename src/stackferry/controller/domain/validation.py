"""Named prerequisite checks of a migration: pure functions over facts gathered from agents.

controller/planner.py asks both agents (GetInfo, InspectStack, GetDatasets, CheckDeploy)
and hands the answers here as `Facts`; each check says pass or fail and why, so a person
sees every problem at once instead of the first one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from stackferry.compose.paths import normalize
from stackferry.controller.domain.mounts import overlapping_targets
from stackferry.controller.domain.plan import Plan
from stackferry.hostapi import (
    AGENT_API_VERSION,
    AgentPing,
    DatasetInfo,
    DeployChecks,
    StackInfo,
    VolumeInfo,
)

# zfs send | zfs receive needs ZFS on both hosts.
STORAGE = "zfs"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ValidationReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)


@dataclass(frozen=True)
class Facts:
    """What the agents said; a field is None when it could not be learnt (see its error)."""

    target_dataset: str  # the spec's parent dataset
    source: AgentPing
    target: AgentPing
    stack: StackInfo | None = None
    stack_error: str = ""
    plan: Plan | None = None
    plan_error: str = ""
    target_datasets: tuple[DatasetInfo, ...] = ()  # planned targets and the parent's ancestors
    deploy: DeployChecks | None = None
    deploy_error: str = ""
    target_volumes: tuple[VolumeInfo, ...] = ()  # the target engine's volumes of the plan's names
    volumes_error: str = ""
    # (path, entries below it, why it cannot be written) of each file move's target directory
    target_directories: tuple[tuple[str, int, str], ...] = ()
    allow_overwrite: bool = False


def agents_reachable(f: Facts) -> Check:
    down = [f"{p.address}: {p.error}" for p in (f.source, f.target) if not p.reachable]
    return Check("agents_reachable", not down, "; ".join(down) or "both agents answer")


def agents_compatible(f: Facts) -> Check:
    """The same agent API; zfs on both hosts when datasets move, rsync when files move."""
    problems = []
    moves_datasets = f.plan is None or bool(f.plan.datasets)
    moves_files = f.plan is not None and bool(f.plan.files)
    for ping in (f.source, f.target):
        if ping.info is None:
            problems.append(f"{ping.address}: unknown (unreachable)")
            continue
        if ping.info.api_version != AGENT_API_VERSION:
            problems.append(f"{ping.address}: API {ping.info.api_version!r}")
        if moves_datasets and ping.info.storage_backend != STORAGE:
            problems.append(
                f"{ping.address}: storage {ping.info.storage_backend!r}, zfs_send needs {STORAGE!r}"
            )
        if moves_files and not ping.info.rsync_version:
            problems.append(f"{ping.address}: no rsync, the file mover needs it")
    return Check("agents_compatible", not problems, "; ".join(problems) or AGENT_API_VERSION)


def compose_parses(f: Facts) -> Check:
    if f.stack is None:
        return Check("compose_parses", False, f.stack_error or "the stack was not inspected")
    if f.plan is None:
        return Check("compose_parses", False, f.plan_error or "the compose file was not planned")
    return Check(
        "compose_parses", True, f"project {f.stack.project_name}, {len(f.stack.services)} services"
    )


def source_compose_valid(f: Facts) -> Check:
    """The source's own compose CLI runs the project: a feature its variant cannot run
    (include: under docker-compose 1.29) is named here, before anything is touched."""
    name = "source_compose_valid"
    if f.stack is None:
        return Check(name, False, "unknown: the stack was not inspected")
    if f.stack.compose_check_failed:
        return Check(name, False, f.stack.compose_check)
    return Check(name, True, f.stack.compose_check or "not checked by the source agent")


def compose_files_match(f: Facts) -> Check:
    """The -f list the migration uses against the one the running stack was started with (its
    containers' labels). An explicit list takes precedence over the labels: one that differs
    in order or adds files passes, the difference said in the detail; one that leaves out a
    file the labels name fails, since the target would run without it (an override left out
    changes the stack unseen)."""
    name = "compose_files_match"
    if f.stack is None:
        return Check(name, False, "unknown: the stack was not inspected")
    used = tuple(normalize(p) for p in f.stack.compose_files or (f.stack.compose_path,))
    given = ", ".join(used)
    if not f.stack.started_with:
        return Check(name, True, f"no compose labels on the containers: -f {given}")
    labelled = tuple(normalize(p) for p in f.stack.started_with)
    if f.stack.discovered_from == "labels":
        return Check(name, True, f"read from the containers' labels: -f {given}")
    if labelled == used:
        return Check(name, True, f"started with -f {given}")
    started = ", ".join(labelled)
    missing = [p for p in labelled if p not in used]
    if missing:
        return Check(
            name,
            False,
            f"the stack runs from -f {started} (its containers' labels), the migration was "
            f"given {given}, which leaves out {', '.join(missing)}: the target would run "
            "without it. Give every file with --compose, in order, or no --compose at all "
            "(with --project) to use the labels' list",
        )
    return Check(
        name,
        True,
        f"warning: the given -f {given} is used, not -f {started} that the containers' labels "
        "name (an explicit list takes precedence)",
    )


def project_files_carried(f: Facts) -> Check:
    """Every file of the compose project has its place on the target: inside the migrated
    data, or carried as a file by the deploy. One that cannot be is refused by name, never
    dropped (the target agent says, in its own checks, whether it can write each one)."""
    name = "project_files_carried"
    if f.plan is None:
        return Check(name, False, "unknown: no plan")
    if f.plan.carry_problems:
        return Check(name, False, "; ".join(f.plan.carry_problems))
    carried = f.plan.carried_files
    if not carried:
        return Check(name, True, "the compose file and its .env (the agent sent no other file)")
    as_files = [c.target_path for c in carried if not c.inside_data]
    return Check(
        name,
        True,
        f"{len(carried)} files, {len(carried) - len(as_files)} inside the migrated data"
        + (f"; carried as files: {', '.join(as_files)}" if as_files else ""),
    )


def every_mount_has_a_mover(f: Facts) -> Check:
    """Every mount of every service moves, or is left alone / excluded / empty for a reason;
    a refused one (and a path the compose file cannot have rewritten) fails, by name."""
    name = "every_mount_has_a_mover"
    if f.stack is None or f.plan is None:
        return Check(name, False, "unknown: the compose file was not read")
    refused = [f"{m.service} {m.source} ({m.target}): {m.reason}" for m in f.plan.refused]
    untranslatable = [f"{r.location}: {r.reason}" for r in f.plan.untranslatable]
    dataset_targets = [d.target_mountpoint for d in f.plan.datasets]
    overlaps = [
        f"targets overlap (add --map SRC=DST): {pair}"
        for pair in overlapping_targets(f.plan.files, dataset_targets)
    ]
    if refused or untranslatable or overlaps:
        return Check(name, False, "; ".join(refused + untranslatable + overlaps))
    counts = Counter(m.mover.value for m in f.plan.mounts)
    summary = ", ".join(f"{n} {mover}" for mover, n in sorted(counts.items()))
    return Check(name, True, f"{len(f.plan.mounts)} mounts: {summary or 'none'}")


def target_volumes_free(f: Facts) -> Check:
    """A volume of the same name on the target is never overwritten without --allow-overwrite:
    one that exists and holds data, or that a container there uses, refuses the migration
    before anything is written."""
    name = "target_volumes_free"
    if f.plan is None or f.volumes_error:
        return Check(name, False, f.volumes_error or "unknown: no plan")
    wanted = [m.target_volume for m in f.plan.files if m.target_volume]
    taken = []
    for v in f.target_volumes:
        users = sorted({u.project or f"container {u.container}" for u in v.used_by})
        why = ([f"{v.size_bytes} bytes"] if not v.empty else []) + (
            [f"used by {', '.join(users)}"] if users else []
        )
        if v.exists and why:
            taken.append(f"{v.name} ({'; '.join(why)})")
    if taken and not f.allow_overwrite:
        return Check(
            name,
            False,
            f"taken on the target (--allow-overwrite to sync into them): {', '.join(taken)}",
        )
    if taken:
        return Check(name, True, f"synced into with --allow-overwrite: {', '.join(taken)}")
    return Check(name, True, f"{len(wanted)} volumes free")


def target_directories_free(f: Facts) -> Check:
    """Each directory a file move writes can be written, and holds nothing yet (unless
    --allow-overwrite): a full one is never synced into (its extra files would go)."""
    name = "target_directories_free"
    if f.plan is None:
        return Check(name, False, "unknown: no plan")
    problems = [f"{path}: {error}" for path, _, error in f.target_directories if error]
    taken = [f"{path} ({n} entries)" for path, n, error in f.target_directories if n and not error]
    if taken and not f.allow_overwrite:
        problems.append(
            f"not empty on the target (--allow-overwrite to sync into them): {', '.join(taken)}"
        )
    if problems:
        return Check(name, False, "; ".join(problems))
    return Check(name, True, f"{len(f.target_directories)} directories can be written")


def _infos(f: Facts) -> dict[str, DatasetInfo]:
    return {d.name: d for d in f.target_datasets}


def target_space(f: Facts) -> Check:
    if f.plan is None:
        return Check("target_space", False, "unknown: no plan")
    if not f.plan.datasets:
        return Check("target_space", True, "no datasets to receive (files: the target checks)")
    if not f.target_dataset:
        return Check("target_space", False, "datasets move: give --target-dataset POOL/PARENT")
    infos = _infos(f)
    parts = f.target_dataset.split("/")
    ancestors = ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]
    existing = [infos[a] for a in ancestors if a in infos and infos[a].exists]
    if not existing:
        return Check("target_space", False, f"no dataset of {f.target_dataset} exists on target")
    room, need = existing[0].available_bytes, sum(d.estimated_bytes for d in f.plan.datasets)
    detail = f"{need} bytes estimated, {room} available in {existing[0].name}"
    return Check("target_space", room >= need, detail)


def target_datasets_free(f: Facts) -> Check:
    if f.plan is None:
        return Check("target_datasets_free", False, "unknown: no plan")
    infos = _infos(f)
    taken = [
        d.target_dataset
        for d in f.plan.datasets
        if d.target_dataset in infos and infos[d.target_dataset].exists
    ]
    if taken:
        return Check("target_datasets_free", False, f"already exist: {', '.join(taken)}")
    return Check("target_datasets_free", True, f"{len(f.plan.datasets)} datasets free")


def _deploy_check(f: Facts, name: str, agent_name: str) -> Check:
    if f.deploy is None:
        return Check(name, False, f.deploy_error or "the target was not checked")
    for check in f.deploy.checks:
        if check.name == agent_name:
            return Check(name, check.ok, check.detail)
    return Check(name, False, f"the target agent reported no {agent_name!r} check")


def target_compose_dir_free(f: Facts) -> Check:
    return _deploy_check(f, "target_compose_dir_free", "compose_dir")


def ports_free(f: Facts) -> Check:
    return _deploy_check(f, "ports_free", "ports")


# Agent deploy checks that a named check above already reads (images: a missing one is copied).
_READ_ABOVE = frozenset({"compose_dir", "ports", "images"})


def target_agent_checks(f: Facts) -> tuple[Check, ...]:
    """Every other check the target agent computed for the deploy (its compose CLI's verdict on
    the translated file: `config -q` ...), as `target_<name>`: one that fails stops the
    migration before anything is touched."""
    if f.deploy is None:
        return ()
    return tuple(
        Check(f"target_{c.name}", c.ok, c.detail)
        for c in f.deploy.checks
        if c.name not in _READ_ABOVE
    )


def target_docker(f: Facts) -> Check:
    info = f.target.info
    if info is None:
        return Check("target_docker", False, "unknown: the target agent did not answer")
    if not info.docker_version or not info.compose_variant:
        missing = "Docker engine" if not info.docker_version else "docker compose / docker-compose"
        return Check("target_docker", False, f"no {missing} on the target")
    return Check(
        "target_docker",
        True,
        f"docker {info.docker_version}, {info.compose_variant} {info.compose_version}",
    )


def images_available(f: Facts) -> Check:
    if f.deploy is None or f.stack is None:
        return Check("images_available", False, f.deploy_error or "unknown: target not checked")
    on_source = {i.name for i in f.stack.images if i.present}
    lost = [i for i in f.deploy.missing_images if i not in on_source]
    if lost:
        return Check("images_available", False, f"on neither host: {', '.join(lost)}")
    copied = list(f.deploy.missing_images)
    return Check(
        "images_available",
        True,
        f"copied from the source: {', '.join(copied)}" if copied else "all present on target",
    )


CHECKS: tuple[Callable[[Facts], Check], ...] = (
    agents_reachable,
    agents_compatible,
    compose_parses,
    source_compose_valid,
    compose_files_match,
    project_files_carried,
    every_mount_has_a_mover,
    target_space,
    target_volumes_free,
    target_directories_free,
    target_datasets_free,
    target_compose_dir_free,
    target_docker,
    images_available,
    ports_free,
)


def evaluate(facts: Facts) -> ValidationReport:
    return ValidationReport(tuple(check(facts) for check in CHECKS) + target_agent_checks(facts))
