"""Translating a project file by file (the golden cases are in test_project_files.py)."""

from __future__ import annotations

from pathlib import Path

from stackferry.compose import RewriteKind
from stackferry.compose.project_files import load_project
from stackferry.compose.translate_project import translate_project

PROJECTS = Path(__file__).parent / "projects"


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def test_every_carried_file_keeps_its_comments() -> None:
    case = PROJECTS / "override_extends_profiles"
    loaded = load_project([str(case / "app/compose.yaml"), str(case / "app/compose.override.yaml")])
    translation = translate_project(
        loaded, [(str(case), "/mnt/elsewhere")], target_project_dir="/opt/app"
    )
    changed = [f for f in translation.files if f.before != f.after]
    assert {f.relative for f in changed} >= {"compose.yaml", "compose.override.yaml"}
    for f in translation.files:
        assert _comments(f.after) == _comments(f.before), f.path


def test_a_variable_two_files_need_differently_is_untranslatable(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/compose.yml": (
                "include: [../lib/compose.yml]\nservices:\n  a:\n    image: a\n"
                "    volumes: ['${DATA}:/a']\n"
            ),
            "app/.env": "DATA=./data\n",  # read against each file's own directory
            "lib/compose.yml": "services:\n  b:\n    image: b\n    volumes: ['${DATA}:/b']\n",
        },
    )
    loaded = load_project([str(tmp_path / "app/compose.yml")])
    pairs = [(f"{tmp_path}/app/data", "/tank/a"), (f"{tmp_path}/lib/data", "/tank/b")]
    translation = translate_project(loaded, pairs, "/opt/app")
    assert [r.kind for r in translation.untranslatable] == [RewriteKind.UNTRANSLATABLE]
    assert "DATA would need two values" in translation.untranslatable[0].reason


def test_an_env_rewrite_lands_in_the_env_file_that_sets_the_variable(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": "services:\n  a:\n    image: a\n    volumes: ['${DATA}:/a']\n",
            "one.env": "# first\nDATA=/srv/old\nOTHER=1\n",
            "two.env": "# second\nDATA=/srv/data\n",
        },
    )
    loaded = load_project(
        [str(tmp_path / "compose.yml")],
        env_files=[str(tmp_path / "one.env"), str(tmp_path / "two.env")],
    )
    translation = translate_project(loaded, [("/srv/data", "/tank/data")], str(tmp_path))
    after = {f.relative: f.after for f in translation.files}
    assert after["one.env"] == "# first\nDATA=/srv/old\nOTHER=1\n"
    assert after["two.env"] == "# second\nDATA=/tank/data\n"
    assert after["compose.yml"] == "services:\n  a:\n    image: a\n    volumes: ['${DATA}:/a']\n"


def test_an_include_only_main_file_and_an_override_without_services(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yml": "# only includes\ninclude: [db/compose.yml]\n",
            "extra.yml": "# only a volume\nvolumes:\n  logs: {}\n",
            "db/compose.yml": "services:\n  db:\n    image: d\n    volumes: [./data:/data]\n",
        },
    )
    loaded = load_project([str(tmp_path / "compose.yml"), str(tmp_path / "extra.yml")])
    assert [s.name for s in loaded.model.services] == ["db"]
    translation = translate_project(loaded, [(str(tmp_path), "/mnt/app")])
    targets = {f.relative: f.target_path for f in translation.files}
    assert targets == {
        "compose.yml": "/mnt/app/compose.yml",
        "db/compose.yml": "/mnt/app/db/compose.yml",
        "extra.yml": "/mnt/app/extra.yml",
    }
    assert all(f.before == f.after for f in translation.files)  # everything moves together
