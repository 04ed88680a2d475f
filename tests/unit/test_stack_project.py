"""agent/stack_project.py on real files: the -f list and env files a project's labels name
(docker-compose 1.29 writes them relative to the directory it ran in), and the carried files
with their bytes, each refusal naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackferry.agent.errors import InvalidArgument, PermissionDenied
from stackferry.agent.roots import Roots
from stackferry.agent.runtime.compose import ComposeFiles
from stackferry.agent.stack_project import (
    CONFIG_FILES_LABEL,
    ENV_FILE_LABEL,
    MAX_CARRIED_BYTES,
    WORKING_DIR_LABEL,
    label_paths,
    load_stack_project,
    project_files,
)

APP = "services:\n  app:\n    image: local/busybox:1\n    env_file: app.env\n"


def labels(files: str, working_dir: Path, env_file: str = "") -> dict[str, str]:
    found = {CONFIG_FILES_LABEL: files, WORKING_DIR_LABEL: str(working_dir)}
    return {**found, ENV_FILE_LABEL: env_file} if env_file else found


def test_relative_label_paths_are_taken_from_where_compose_ran(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    # `cd tmp_path; docker-compose -f proj/a.yml -f proj/b.yml --env-file proj/x.env up`
    found = label_paths(labels("proj/a.yml,proj/b.yml", project, "proj/x.env"))
    assert found == ((str(project / "a.yml"), str(project / "b.yml")), (str(project / "x.env"),))
    # `cd proj; docker-compose up`: the default file, beside working_dir
    assert label_paths(labels("docker-compose.yml", project)) == (
        (str(project / "docker-compose.yml"),),
        (),
    )
    absolute = labels(f"{project}/a.yml,{tmp_path}/other/b.yml", project)  # as v2 writes them
    assert label_paths(absolute)[0] == (str(project / "a.yml"), str(tmp_path / "other/b.yml"))
    assert label_paths({}) == ((), ())


def project_in(root: Path) -> ComposeFiles:
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "docker-compose.yml").write_text(APP)
    (root / "proj" / "app.env").write_bytes(b"A=1\n")
    os.chmod(root / "proj" / "app.env", 0o640)
    return ComposeFiles.of(str(root / "proj" / "docker-compose.yml"))


def test_carried_files_have_their_bytes_and_mode(tmp_path: Path) -> None:
    files = project_in(tmp_path)
    carried = project_files(load_stack_project(files), Roots((), (str(tmp_path),)))
    by_path = {f.path: f for f in carried}
    env = by_path[str(tmp_path / "proj" / "app.env")]
    assert (env.kind, env.relative, env.content, env.mode) == (
        "env_file",
        "app.env",
        b"A=1\n",
        0o640,
    )
    assert by_path[files.main].content == APP.encode()


def test_a_carried_file_over_the_cap_or_outside_the_roots_is_refused_by_name(
    tmp_path: Path,
) -> None:
    files = project_in(tmp_path)
    env = tmp_path / "proj" / "app.env"
    env.write_bytes(b"#" * (MAX_CARRIED_BYTES + 1))
    with pytest.raises(InvalidArgument, match=rf"{env} \(env_file\) is over 4 MiB.*migrated data"):
        project_files(load_stack_project(files), Roots((), (str(tmp_path),)))
    env.write_bytes(b"A=1\n")
    with pytest.raises(PermissionDenied, match=str(tmp_path / "proj")):
        project_files(load_stack_project(files), Roots((), (str(tmp_path / "elsewhere"),)))
