"""Asks the agents what planning and validation need, then calls the pure domain functions."""

from __future__ import annotations

from dataclasses import dataclass

from stackferry.compose import ComposeError
from stackferry.controller.domain.model import Migration, MigrationSpec, SourceProject
from stackferry.controller.domain.mounts import plan_mounts
from stackferry.controller.domain.plan import (
    Plan,
    build_plan,
    plan_datasets,
    plan_path_map,
    stack_datasets,
)
from stackferry.controller.domain.validation import Facts, ValidationReport, evaluate
from stackferry.controller.errors import ControllerError, InvalidArgument, NotFound
from stackferry.controller.ports import AgentClient, Dialer
from stackferry.hostapi import DatasetInfo, DeployRequest, FileTree, StackInfo

DEFAULT_COMPOSE_FILENAME = "docker-compose.yml"


@dataclass(frozen=True)
class Survey:
    """A validation report with the stack and plan it was made from (None when unknown)."""

    report: ValidationReport
    stack: StackInfo | None
    plan: Plan | None


def deploy_request(plan: Plan, spec: MigrationSpec) -> DeployRequest:
    return DeployRequest(
        project_name=plan.project_name,
        compose_dir=plan.target_compose_dir,
        compose_text=plan.compose_text,
        env_text=plan.env_text,
        write_env=plan.env_exists,
        mounts=tuple((d.target_dataset, d.target_mountpoint) for d in plan.datasets),
        wait_timeout_seconds=spec.options.verify_timeout_seconds,
        compose_filename=plan.compose_filename or DEFAULT_COMPOSE_FILENAME,
        compose_files=plan.compose_files,
        env_files=plan.env_files,
        profiles=plan.profiles,
        services=plan.services,
        files=plan.deploy_files,
    )


def known_datasets(agent: AgentClient, names: list[str]) -> list[DatasetInfo]:
    """What the agent tells of each name; one it may not show (outside its allowed roots)
    is left out rather than failing the whole question."""
    found = []
    for name in names:
        try:
            found += agent.get_datasets([name])
        except ControllerError:
            continue
    return found


def target_directory(agent: AgentClient, path: str) -> tuple[str, int, str]:
    """(path, entries below it, why it cannot be written) of a file move's target directory:
    0 entries when it does not exist yet."""
    try:
        return path, agent.file_manifest(FileTree(path)).files - 1, ""
    except NotFound:
        return path, 0, ""
    except ControllerError as exc:
        return path, 0, str(exc)


def inspect(agent: AgentClient, spec: MigrationSpec) -> StackInfo:
    """The source's stack with the spec's -f and --env-file lists (none: its labels')."""
    return agent.inspect_stack(
        spec.compose_path, spec.project_name, spec.compose_files, spec.env_files
    )


class Planner:
    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer

    def _plan_from(self, spec: MigrationSpec, stack: StackInfo, source: AgentClient) -> Plan:
        mountpoints = stack_datasets(stack, spec.options.excludes)
        infos = source.get_datasets(list(mountpoints)) if mountpoints else []
        estimates = {d.name: d.referenced_bytes for d in infos}
        datasets = plan_datasets(mountpoints, spec, estimates)
        mounts, files = plan_mounts(stack.mounts, spec, plan_path_map(datasets, spec))
        project = spec.project_name or stack.project_name
        try:
            return build_plan(
                spec,
                project,
                stack.compose_text,
                stack.env_text,
                stack.env_exists,
                datasets,
                files,
                mounts,
                SourceProject.of(stack),
            )
        except ComposeError as exc:
            raise InvalidArgument(f"{spec.stack}: {exc}") from None

    def plan(self, spec: MigrationSpec) -> Plan:
        source = self.dialer.dial(spec.source_agent)
        return self._plan_from(spec, inspect(source, spec), source)

    def replan(self, migration: Migration) -> Plan:
        """The plan again from what validation stored, without asking the source (which may be
        stopped or gone by then): the translation is pure, so it comes out the same."""
        return build_plan(
            migration.spec,
            migration.project_name,
            migration.compose_text,
            migration.env_text,
            bool(migration.env_text),
            migration.datasets,
            migration.files,
            migration.mounts,
            migration.source_project,
        )

    def survey(self, spec: MigrationSpec) -> Survey:
        """Every check of `validation.CHECKS`; agent errors become failed checks, not raises."""
        source_ping = self.dialer.ping(spec.source_agent)
        target_ping = self.dialer.ping(spec.target_agent)
        facts: dict[str, object] = {}
        stack: StackInfo | None = None
        plan: Plan | None = None
        if source_ping.reachable:
            source = self.dialer.dial(spec.source_agent)
            try:
                stack = inspect(source, spec)
                plan = self._plan_from(spec, stack, source)
            except ControllerError as exc:
                facts["stack_error" if stack is None else "plan_error"] = str(exc)
        if target_ping.reachable and plan is not None:
            target = self.dialer.dial(spec.target_agent)
            parts = spec.target_dataset.split("/") if spec.target_dataset else []
            names = [d.target_dataset for d in plan.datasets]
            names += ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]
            facts["target_datasets"] = tuple(known_datasets(target, names))
            try:
                facts["target_volumes"] = tuple(
                    target.inspect_volume(f.target_volume) for f in plan.files if f.target_volume
                )
            except ControllerError as exc:
                facts["volumes_error"] = f"the target's volumes were not inspected: {exc}"
            facts["target_directories"] = tuple(
                target_directory(target, f.target_path) for f in plan.files if f.target_path
            )
            try:
                facts["deploy"] = target.check_deploy(deploy_request(plan, spec))
            except ControllerError as exc:
                facts["deploy_error"] = str(exc)
        report = evaluate(
            Facts(
                target_dataset=spec.target_dataset,
                source=source_ping,
                target=target_ping,
                stack=stack,
                plan=plan,
                allow_overwrite=spec.options.allow_overwrite,
                **facts,  # type: ignore[arg-type]
            )
        )
        return Survey(report, stack, plan)

    def validate(self, spec: MigrationSpec) -> ValidationReport:
        return self.survey(spec).report
