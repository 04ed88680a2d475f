"""Where a stack goes: datasets, path map, compose dir and the translated compose. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from controller.domain.model import DatasetPlan, MigrationSpec, PathMapping


@dataclass(frozen=True)
class PlannedRewrite:
    location: str  # e.g. services.web.volumes[0]
    before: str
    after: str
    reason: str
    changed: bool


@dataclass(frozen=True)
class Plan:
    project_name: str
    datasets: tuple[DatasetPlan, ...]
    path_map: tuple[PathMapping, ...]
    compose_diff: str
    env_diff: str
    rewrites: tuple[PlannedRewrite, ...]
    target_compose_dir: str
    total_bytes: int
    compose_filename: str
    compose_text: str  # translated
    env_text: str  # translated
    env_exists: bool


def check_spec(spec: MigrationSpec) -> None:
    """InvalidArgument for a spec no migration could run."""
    raise NotImplementedError
