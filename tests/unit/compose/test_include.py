"""`include:` (Compose 2.20+): each included project with its own directory and `.env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.compose import ComposeError
from stackferry.compose.project_files import load_project


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_including_projects_variables_win_over_the_included_dot_env(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/compose.yml": "include: [../db/compose.yml]\nservices:\n  app:\n    image: a\n",
            "app/.env": "TAG=parent\n",
            "db/compose.yml": 'services:\n  db:\n    image: "db:${TAG}-${OWN}"\n',
            "db/.env": "TAG=child\nOWN=own\n",
        },
    )
    loaded = load_project([str(tmp_path / "app/compose.yml")])
    assert loaded.model.images == ["a", "db:parent-own"]


def test_long_syntax_project_directory_and_env_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": (
                "include:\n"
                "  - path: [parts/db.yml, parts/db-extra.yml]\n"
                "    project_directory: data\n"
                "    env_file: parts/db.env\n"
                "services:\n  app:\n    image: a\n"
            ),
            "parts/db.yml": 'services:\n  db:\n    image: "db:${V}"\n    volumes: [./pg:/pg]\n',
            "parts/db-extra.yml": "services:\n  db:\n    volumes: [./more:/more]\n",
            "parts/db.env": "V=9\n",
            "data/.env": "V=not-read\n",
        },
    )
    loaded = load_project([str(tmp_path / "compose.yml")])
    assert loaded.model.images == ["a", "db:9"]
    assert [b.source for b in loaded.model.binds] == [
        f"{tmp_path}/data/pg",
        f"{tmp_path}/data/more",
    ]
    carried = {f.relative: f.kind for f in loaded.carried_files}
    assert carried == {
        "compose.yml": "compose",
        "parts/db.env": "env",
        "parts/db.yml": "include",
        "parts/db-extra.yml": "include",
    }
    assert loaded.uses_include


def test_includes_nest_with_paths_against_each_files_directory(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": "include: [a/compose.yml]\nservices:\n  top:\n    image: t\n",
            "a/compose.yml": "include: [b/compose.yml]\nservices:\n  a:\n    image: a\n",
            "a/b/compose.yml": "services:\n  b:\n    image: b\n    volumes: [./x:/x]\n",
        },
    )
    loaded = load_project([str(tmp_path / "compose.yml")])
    assert [s.name for s in loaded.model.services] == ["top", "a", "b"]
    assert [b.source for b in loaded.model.binds] == [f"{tmp_path}/a/b/x"]


def test_a_service_both_define_is_an_error(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": "include: [other.yml]\nservices:\n  web:\n    image: a\n",
            "other.yml": "services:\n  web:\n    image: b\n",
        },
    )
    with pytest.raises(ComposeError, match=r"compose.yml:1: services.web from the included"):
        load_project([str(tmp_path / "compose.yml")])


def test_an_include_with_an_error_names_the_included_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": "include: [other.yml]\nservices:\n  web:\n    image: a\n",
            "other.yml": 'services:\n  db:\n    image: "${MISSING:?needed}"\n',
        },
    )
    with pytest.raises(ComposeError, match=r"other.yml:3: required variable MISSING is not set"):
        load_project([str(tmp_path / "compose.yml")])


def test_an_include_cycle_is_an_error(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a.yml": "include: [b.yml]\nservices:\n  a:\n    image: a\n",
            "b.yml": "include: [a.yml]\nservices:\n  b:\n    image: b\n",
        },
    )
    with pytest.raises(
        ComposeError, match=r"b.yml:1: include has a cycle: .*a.yml -> .*b.yml -> .*a.yml"
    ):
        load_project([str(tmp_path / "a.yml")])


@pytest.mark.parametrize("path", ["oci://docker.io/x/y:1", "git@github.com:x/y.git"])
def test_a_remote_include_is_refused_by_name(tmp_path: Path, path: str) -> None:
    _write(tmp_path, {"compose.yml": f"include:\n  - path: {path}\nservices: {{}}\n"})
    with pytest.raises(ComposeError, match=r"compose.yml:2: include\[0\]: a remote include"):
        load_project([str(tmp_path / "compose.yml")])
