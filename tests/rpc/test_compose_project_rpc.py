"""A whole compose project through two real agents and engines A and B (docker-compose 1.29):
started on A with `-f base.yml -f override.yml --env-file vars.env --profile on` from its parent
directory, InspectStack finds the files from the containers' labels alone and reports every
carried file with its bytes, the override's bind mount and the services that run; a
DeployStack of that set on B runs it with the same variables and mounts, only the services
that ran, and Discard takes it down with the same files and removes them; a carried file
outside B's roots is refused by CheckDeploy by name, nothing written."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import docker
import grpc
import pytest
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401

from stackferry.agent.runtime.base import PROJECT_LABEL, SERVICE_LABEL
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

pytestmark = [pytest.mark.docker]

Stub = agent_pb2_grpc.AgentStub
BASE = """\
# the base file: its comments travel with it
services:
  app:
    extends:
      file: ../common/svc.yml  # a service of a file in another directory
      service: base
    env_file: app.env
    environment:
      GREETING: ${GREETING:?GREETING is set in vars.env}
    volumes:
      - ./data:/data
  extra:
    image: local/busybox:1
    command: ["sleep", "3600"]
    profiles: ["on"]
  never:
    image: local/busybox:1
    command: ["sleep", "3600"]
    profiles: ["off"]
  helper:
    image: local/busybox:1
    command: ["sleep", "3600"]
"""
OVERRIDE = """\
services:
  app:
    environment:
      FROM_OVERRIDE: "yes"
    volumes:
      - ./conf:/conf:ro
"""
COMMON = """\
services:
  base:
    image: local/busybox:1
    command: ["sleep", "3600"]
    environment:
      FROM_EXTENDS: "yes"
"""
FILES = {
    "proj/base.yml": BASE,
    "proj/override.yml": OVERRIDE,
    "proj/app.env": "FROM_ENV_FILE=yes\n",
    "proj/vars.env": "GREETING=hello\n",
    "common/svc.yml": COMMON,
}
SHOW = (
    'echo "$FROM_EXTENDS $FROM_OVERRIDE $FROM_ENV_FILE $GREETING"; '
    "read line < /conf/app.ini; echo $line"
)


def agent_args(docker_host: str, root: Path) -> tuple[str, ...]:
    return (
        "--insecure",
        "--docker-host",
        docker_host,
        "--storage-backend",
        "directory",
        "--allowed-path-root",
        str(root),
        "--state-dir",
        str(root.parent / f"{root.name}-state"),
    )


def compose(docker_host: str, cwd: Path, *args: str) -> None:
    env = {**os.environ, "DOCKER_HOST": docker_host}
    done = subprocess.run(
        ["docker-compose", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def running(docker_host: str, project: str) -> dict[str, str]:
    """service -> container name, for the project's running containers."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.containers.list(filters={"label": f"{PROJECT_LABEL}={project}"})
        return {c.labels[SERVICE_LABEL]: c.name for c in found}
    finally:
        client.close()


def in_container(docker_host: str, container: str, script: str) -> str:
    client = docker.DockerClient(base_url=docker_host)
    try:
        code, output = client.containers.get(container).exec_run(["sh", "-c", script])
        assert code == 0, output
        return str(output.decode())
    finally:
        client.close()


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    a, b = tmp_path / "a", tmp_path / "b"
    for relative, text in FILES.items():
        (a / relative).parent.mkdir(parents=True, exist_ok=True)
        (a / relative).write_text(text)
    for root in (a, b):
        (root / "proj" / "data").mkdir(parents=True)
        (root / "proj" / "conf").mkdir()
        (root / "proj" / "conf" / "app.ini").write_text(f"conf of {root.name}\n")
    yield a, b


def project_on_a(
    docker_hosts: tuple[str, str], a: Path, register: Callable[[str, str], str]
) -> str:
    project = register(docker_hosts[0], unique("sfproject"))
    files = ("-f", "proj/base.yml", "-f", "proj/override.yml", "--env-file", "proj/vars.env")
    compose(docker_hosts[0], a, "-p", project, *files, "--profile", "on", "up", "-d")
    compose(docker_hosts[0], a, "-p", project, *files, "stop", "helper")
    return project


def test_inspect_finds_the_project_from_its_labels_with_every_file(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    a, _ = hosts
    project = project_on_a(docker_hosts, a, compose_projects)
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address)

    info = stub.InspectStack(agent_pb2.InspectStackRequest(project_name=project))

    assert info.discovered_from == "labels"
    assert list(info.compose_files) == [str(a / "proj/base.yml"), str(a / "proj/override.yml")]
    assert list(info.env_files) == [str(a / "proj/vars.env")]
    carried = {f.path: f for f in info.project_files}
    assert {p: f.content.decode() for p, f in carried.items()} == {
        str(a / relative): text for relative, text in FILES.items()
    }
    assert carried[str(a / "common/svc.yml")].kind == "extends"
    assert carried[str(a / "common/svc.yml")].relative == ""  # outside the project dir
    assert carried[str(a / "proj/app.env")].relative == "app.env"
    assert "on" in info.profiles and "off" not in info.profiles
    assert list(info.running_services) == ["app", "extra"]
    mounts = {m.target: m for m in info.mounts if m.service == "app"}
    assert mounts["/conf"].seen_in == "compose+container", "the override's mount is declared"
    assert mounts["/conf"].resolved_source == str(a / "proj/conf")
    assert not info.compose_check_failed, info.compose_check


def deploy_request(b: Path, project: str, **extra: object) -> agent_pb2.DeployRequest:
    carried = [
        agent_pb2.ProjectFile(
            path=str(b / relative), kind="carried", content=text.encode(), exists=True
        )
        for relative, text in FILES.items()
        if relative != "proj/base.yml"
    ]
    request = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(b / "proj"),
        compose_filename="base.yml",
        compose_text=BASE,
        wait_timeout_seconds=60,
        compose_files=[str(b / "proj/base.yml"), str(b / "proj/override.yml")],
        env_files=[str(b / "proj/vars.env")],
        profiles=["on"],
        services=["app", "extra"],
        files=carried,
    )
    for name, value in extra.items():
        field = getattr(request, name)
        field.extend(value) if isinstance(value, list) else setattr(request, name, value)
    return request


def test_a_deploy_of_the_whole_set_runs_the_same_stack_and_only_what_ran_until_discarded(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    a, b = hosts
    project = project_on_a(docker_hosts, a, compose_projects)
    compose_projects(docker_hosts[1], project)
    stub = agent_stub(start_agent(*agent_args(docker_hosts[1], b)).address)
    request = deploy_request(b, project, migration_id="m-project")

    checks = stub.CheckDeploy(request).checks
    assert all(c.ok for c in checks), [(c.name, c.detail) for c in checks if not c.ok]
    result = stub.DeployStack(request)
    assert result.ok, result.error

    on_a, on_b = running(docker_hosts[0], project), running(docker_hosts[1], project)
    assert set(on_b) == set(on_a) == {"app", "extra"}, "helper and never stay down"
    assert project_containers(docker_hosts[1], project) == sorted(on_b.values())
    assert in_container(docker_hosts[0], on_a["app"], SHOW) == "yes yes yes hello\nconf of a\n"
    assert in_container(docker_hosts[1], on_b["app"], SHOW) == "yes yes yes hello\nconf of b\n"
    for relative, text in FILES.items():
        assert (b / relative).read_text() == text, f"{relative} written as carried"

    # `compose down` needs vars.env for ${GREETING:?}: the journal kept the whole -f list.
    discarded = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-project"))
    assert f"deploy {project}" in discarded.removed, discarded
    assert project_containers(docker_hosts[1], project) == []
    assert not [r for r in FILES if (b / r).exists()], "every carried file removed"
    assert not (b / "common").exists() and (b / "proj" / "conf" / "app.ini").exists()


def test_a_carried_file_outside_the_roots_is_refused_by_name_and_nothing_is_written(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    _, b = hosts
    stub = agent_stub(start_agent(*agent_args(docker_hosts[1], b)).address)
    outside = tmp_path / "elsewhere" / "common.yml"
    stray = agent_pb2.ProjectFile(
        path=str(outside), kind="extends", content=b"services: {}\n", exists=True
    )
    request = deploy_request(b, unique("sfrefused"), files=[stray])

    refused = [c for c in stub.CheckDeploy(request).checks if not c.ok]
    assert [c.name for c in refused] == ["project_files"]
    assert refused[0].detail.startswith(f"{outside}: ") and "outside" in refused[0].detail
    with pytest.raises(grpc.RpcError) as denied:
        stub.DeployStack(request)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert str(outside) in str(denied.value.details())
    assert not outside.parent.exists()
    assert not (b / "proj" / "base.yml").exists() and not (b / "common").exists()


def test_check_deploy_reads_a_carried_file_named_by_its_absolute_target_path(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    """`config -q` runs on a scratch copy: an absolute path to a file the deploy has not
    written yet is checked in the copy, not refused as missing."""
    _, b = hosts
    stub = agent_stub(start_agent(*agent_args(docker_hosts[1], b)).address)
    extra_env = b / "proj" / "extra.env"
    request = deploy_request(b, unique("sfabsolute"))
    override = next(f for f in request.files if f.path == str(b / "proj/override.yml"))
    override.content += f"    env_file:\n      - {extra_env}\n".encode()
    request.files.append(
        agent_pb2.ProjectFile(path=str(extra_env), kind="env_file", content=b"X=1\n", exists=True)
    )

    checks = {c.name: c for c in stub.CheckDeploy(request).checks}
    assert checks["compose_file"].ok, checks["compose_file"].detail
    assert not extra_env.exists() and not (b / "proj" / "base.yml").exists(), "nothing written"


def test_a_compose_dir_holding_another_projects_file_is_refused_and_kept(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    _, b = hosts
    stub = agent_stub(start_agent(*agent_args(docker_hosts[1], b)).address)
    theirs = "services:\n  other:\n    image: local/busybox:1\n"
    (b / "proj" / "base.yml").write_text(theirs)
    request = deploy_request(b, unique("sfconflict"))

    checks = {c.name: c for c in stub.CheckDeploy(request).checks}
    assert not checks["compose_dir"].ok
    assert "already holds the compose file of project 'proj'" in checks["compose_dir"].detail
    with pytest.raises(grpc.RpcError) as refused:
        stub.DeployStack(request)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (b / "proj" / "base.yml").read_text() == theirs
    assert not (b / "proj" / "override.yml").exists(), "nothing of the deploy written"


def test_discovery_without_containers_or_a_name_says_what_to_give(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    a, _ = hosts
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address)
    absent = unique("sfabsent")
    with pytest.raises(grpc.RpcError) as none_running:
        stub.InspectStack(agent_pb2.InspectStackRequest(project_name=absent))
    assert none_running.value.code() == grpc.StatusCode.NOT_FOUND
    assert f"project {absent!r} has no containers" in str(none_running.value.details())
    with pytest.raises(grpc.RpcError) as nothing_named:
        stub.InspectStack(agent_pb2.InspectStackRequest())
    assert nothing_named.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name the compose files" in str(nothing_named.value.details())

    client = docker.DockerClient(base_url=docker_hosts[0])
    labelled = client.containers.create(
        "local/busybox:1", ["sleep", "60"], labels={PROJECT_LABEL: absent}
    )  # the project's label, and none of the labels compose writes beside it
    try:
        with pytest.raises(grpc.RpcError) as unlabelled:
            stub.InspectStack(agent_pb2.InspectStackRequest(project_name=absent))
    finally:
        labelled.remove(force=True)
        client.close()
    assert unlabelled.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "carry no com.docker.compose.project.config_files" in str(unlabelled.value.details())


def test_stop_and_start_use_the_projects_own_files_and_profiles(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    """`extra` runs only with `--profile on`, given on the command line that started it: the
    stop stops it, and the start, which needs that profile, starts it again."""
    a, _ = hosts
    project = project_on_a(docker_hosts, a, compose_projects)
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address)

    def ref(timeout: int) -> agent_pb2.StackRef:
        return agent_pb2.StackRef(
            project_name=project,
            compose_path=str(a / "proj/base.yml"),
            timeout_seconds=timeout,
            compose_files=[str(a / "proj/base.yml"), str(a / "proj/override.yml")],
            env_files=[str(a / "proj/vars.env")],
        )

    # sleep as PID 1 ignores SIGTERM: a 1 s grace, not its 10 s, keeps the test short.
    stopped = stub.StopStack(ref(1))
    assert {s.service for s in stopped.stops} == {"app", "extra"}
    assert running(docker_hosts[0], project) == {}
    stub.StartStack(ref(60))
    assert {"app", "extra"} <= set(running(docker_hosts[0], project))
    shown = in_container(docker_hosts[0], running(docker_hosts[0], project)["app"], SHOW)
    assert shown == "yes yes yes hello\nconf of a\n", "the same container, as it was"


def test_a_stack_not_running_is_read_with_the_override_compose_finds_beside_it(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    """No container says how it was started: compose's own defaults, the file and its
    docker-compose.override.yml (the override's mount is in the inventory)."""
    a, _ = hosts
    (a / "plain").mkdir()
    main, override = a / "plain" / "docker-compose.yml", a / "plain" / "docker-compose.override.yml"
    main.write_text("services:\n  app:\n    image: local/busybox:1\n")
    override.write_text("services:\n  app:\n    volumes:\n      - ./conf:/conf\n")
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address)

    info = stub.InspectStack(
        agent_pb2.InspectStackRequest(compose_path=str(main), project_name=unique("sfplain"))
    )
    assert (info.discovered_from, list(info.compose_files)) == (
        "default",
        [str(main), str(override)],
    )
    assert [m.target for m in info.mounts] == ["/conf"]


def test_labels_that_read_different_files_from_two_directories_are_refused_by_name(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    tmp_path: Path,
) -> None:
    """`-f ../proj/a.yml -f prod.yml` run from x/other: the labels say working_dir x/proj
    and those two names; with a prod.yml in x/proj too, the labels fit both directories, and
    which prod.yml compose read is not known: refused, not guessed."""
    x = tmp_path / "x"
    (x / "proj").mkdir(parents=True)
    (x / "other").mkdir()
    sleeper = 'image: local/busybox:1\n    command: ["sleep", "3600"]\n'
    (x / "proj/a.yml").write_text(f"services:\n  app:\n    {sleeper}")
    (x / "proj/prod.yml").write_text(f"services:\n  decoy:\n    {sleeper}")
    (x / "other/prod.yml").write_text(f"services:\n  prod:\n    {sleeper}")
    project = compose_projects(docker_hosts[0], unique("sftwodirs"))
    up = ("-p", project, "-f", "../proj/a.yml", "-f", "prod.yml", "up", "-d")
    compose(docker_hosts[0], x / "other", *up)
    assert set(running(docker_hosts[0], project)) == {"app", "prod"}
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], x)).address)

    with pytest.raises(grpc.RpcError) as refused:
        stub.InspectStack(agent_pb2.InspectStackRequest(project_name=project))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = str(refused.value.details())
    assert str(x / "other") in details and str(x / "proj") in details and "--compose" in details

    (x / "proj/prod.yml").unlink()  # one directory left that has every file: that one
    info = stub.InspectStack(agent_pb2.InspectStackRequest(project_name=project))
    assert list(info.compose_files) == [str(x / "proj/a.yml"), str(x / "other/prod.yml")]


def test_a_carried_file_keeps_its_owner(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    """A 0600 env_file of uid 1234 (a non-root container's): inspect reports its owner, and
    the deploy gives it that owner on the target, beside its mode."""
    a, b = hosts
    os.chown(a / "proj/app.env", 1234, 2345)
    (a / "proj/app.env").chmod(0o600)
    project = project_on_a(docker_hosts, a, compose_projects)
    info = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address).InspectStack(
        agent_pb2.InspectStackRequest(project_name=project)
    )
    reported = next(f for f in info.project_files if f.path == str(a / "proj/app.env"))
    assert (reported.uid, reported.gid, reported.mode) == (1234, 2345, 0o600)

    target = b / "proj/app.env"
    reported.path = str(target)
    deployed = agent_stub(start_agent(*agent_args(docker_hosts[1], b)).address).DeployStack(
        agent_pb2.DeployRequest(
            project_name=compose_projects(docker_hosts[1], unique("sfowner")),
            compose_dir=str(b / "proj"),
            compose_text="services:\n  app:\n    image: local/busybox:1\n"
            '    command: ["sleep", "3600"]\n    env_file: app.env\n',
            files=[reported],
            wait_timeout_seconds=60,
        )
    )
    assert deployed.ok, deployed.error
    found = target.stat()
    assert (found.st_uid, found.st_gid, found.st_mode & 0o777) == (1234, 2345, 0o600)


def test_a_start_given_the_services_that_ran_leaves_one_stopped_before_stopped(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    hosts: tuple[Path, Path],
) -> None:
    """`helper` was stopped before the migration: the rollback's start names the services
    that ran (StackRef.services) and `helper` stays stopped; a name not in the project is
    refused."""
    a, _ = hosts
    project = project_on_a(docker_hosts, a, compose_projects)
    stub = agent_stub(start_agent(*agent_args(docker_hosts[0], a)).address)
    info = stub.InspectStack(agent_pb2.InspectStackRequest(project_name=project))
    assert list(info.running_services) == ["app", "extra"]

    def ref(timeout: int, services: Sequence[str] = ()) -> agent_pb2.StackRef:
        return agent_pb2.StackRef(
            project_name=project,
            compose_path=str(a / "proj/base.yml"),
            timeout_seconds=timeout,
            compose_files=info.compose_files,
            env_files=info.env_files,
            services=services,
        )

    stub.StopStack(ref(1))
    assert running(docker_hosts[0], project) == {}
    with pytest.raises(grpc.RpcError) as unknown:
        stub.StartStack(ref(60, ["app", "nosuch"]))
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nosuch" in str(unknown.value.details())
    stub.StartStack(ref(60, info.running_services))
    assert set(running(docker_hosts[0], project)) == {"app", "extra"}
