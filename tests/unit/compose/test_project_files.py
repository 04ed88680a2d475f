"""Compose projects read as compose reads them, on golden projects of real files.

Each directory under projects/ is one project tree with a case.yaml (project_dir, files in -f
order, optional env_files, profiles, environ) and expected.txt: the loaded project rendered
with paths relative to the case directory. After a deliberate change in behaviour, regenerate
with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/compose/test_project_files.py` and review
the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from stackferry.compose import ComposeError
from stackferry.compose.project_files import LoadedProject, default_files, load_project
from stackferry.compose.translate_project import ProjectTranslation, translate_project

PROJECTS = Path(__file__).parent / "projects"
CASES = sorted(path.name for path in PROJECTS.iterdir() if path.is_dir())


def load_case(case: Path) -> LoadedProject:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    project_dir = str(case / spec["project_dir"])
    files = [str(case / f) for f in spec.get("files") or []] or list(default_files(project_dir))
    return load_project(
        files,
        project_dir,
        env_files=[str(case / f) for f in spec.get("env_files", [])],
        profiles=spec.get("profiles"),
        environ=spec.get("environ"),
    )


def render(loaded: LoadedProject, case: Path) -> str:
    project = loaded.project
    lines = [
        f"project {project.name} in {project.project_dir}",
        *(f"  -f {f}" for f in project.files),
        *(f"  --env-file {f}" for f in project.env_files),
        f"  profiles: {', '.join(project.profiles) or '-'}",
        f"  features: {', '.join(sorted(loaded.required_features)) or '-'}",
        f"  stop order: {', '.join(loaded.stop_order())}",
        "services:",
    ]
    models = {s.name: s for s in loaded.all_services}
    for name, info in loaded.services.items():
        state = "active" if info.active else "inactive"
        lines.append(
            f"  {name}: {state}, profiles [{', '.join(info.profiles)}], "
            f"stop_grace {info.stop_grace_seconds:g}s, depends_on [{', '.join(info.depends_on)}]"
        )
        spec = models[name]
        lines.append(f"    image {spec.image or '-'}")
        for m in spec.mounts:
            mode = " ro" if m.read_only else ""
            lines.append(f"    {m.type} {m.source or '-'} -> {m.target}{mode} ({m.location})")
        lines.extend(f"    port {p.host_ip or '*'}:{p}" for p in spec.ports)
        config = loaded.config()["services"]
        assert isinstance(config, dict)
        environment = config[name].get("environment")
        if environment:
            lines.append(f"    environment {environment}")
    lines.append("carried files:")
    for f in loaded.carried_files:
        where = f.relative or f"OUTSIDE {f.path}"
        flags = ("" if f.required else " optional") + ("" if f.exists else " missing")
        owner = f" (named by {f.owner})" if f.owner else ""
        lines.append(f"  {f.kind}: {where}{flags}{owner}")
    return "\n".join(lines).replace(str(case), "<case>") + "\n"


@pytest.mark.parametrize("name", CASES)
def test_golden_project(name: str) -> None:
    case = PROJECTS / name
    got = render(load_case(case), case)
    expected = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(got)
    assert got == expected.read_text()


def render_translation(translation: ProjectTranslation, case: Path) -> str:
    lines = [f"target project directory {translation.target_project_dir}"]
    for f in translation.files:
        lines.append(f"== {f.kind} {f.relative or 'OUTSIDE ' + f.path} -> {f.target_path}")
        lines.extend(
            f"  {r.location}: {r.kind}: {r.before} -> {r.after} ({r.reason})" for r in f.rewrites
        )
        lines.append(f.diff.rstrip("\n") or "  (unchanged)")
    return "\n".join(lines).replace(str(case), "<case>") + "\n"


@pytest.mark.parametrize("name", CASES)
def test_golden_translation(name: str) -> None:
    case = PROJECTS / name
    spec = yaml.safe_load((case / "case.yaml").read_text())["translate"]
    pairs = [entry.replace("<case>", str(case)).split("=", 1) for entry in spec["map"]]
    translation = translate_project(
        load_case(case), [(s, t) for s, t in pairs], spec.get("target_project_dir")
    )
    got = render_translation(translation, case)
    expected = case / "expected.translation.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(got)
    assert got == expected.read_text()
    assert translation.untranslatable == ()


def test_default_files_are_the_main_file_and_its_override(tmp_path: Path) -> None:
    for name in ("docker-compose.yml", "compose.yaml", "docker-compose.override.yml"):
        (tmp_path / name).write_text("services: {}\n")
    assert default_files(str(tmp_path)) == (
        f"{tmp_path}/compose.yaml",
        f"{tmp_path}/docker-compose.override.yml",
    )
    assert default_files(str(tmp_path), variant="v1")[0] == f"{tmp_path}/docker-compose.yml"


def test_an_override_alone_is_not_a_project(tmp_path: Path) -> None:
    (tmp_path / "compose.override.yaml").write_text("services: {}\n")
    assert default_files(str(tmp_path)) == ()


def _write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  a:\n    image: x\n    extends:\n"
            "      file: ../nope.yml\n      service: b\n",
            "compose.yml:5: extends file {dir}/nope.yml does not exist",
        ),
        (
            'services:\n  a:\n    image: "${NEED:?set it please}"\n',
            "compose.yml:3: required variable NEED is not set: set it please",
        ),
        (
            "services:\n  a:\n    image: x\n    image: y\n",
            "compose.yml:4: services.a has the key 'image' twice",
        ),
        (
            "include:\n  - missing.yml\nservices:\n  a:\n    image: x\n",
            "compose.yml:2: include file {dir}/p/missing.yml does not exist",
        ),
        (
            "services:\n  a:\n    image: x\n    env_file: nope.env\n",
            "compose.yml:4: env_file {dir}/p/nope.env does not exist",
        ),
        ("services:\n  a:\n    image: [x\n", "compose.yml:4: not valid YAML"),
    ],
    ids=[
        "extends-missing",
        "required-variable",
        "duplicate-key",
        "include-missing",
        "env-file",
        "yaml",
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    compose = _write(tmp_path, "p/compose.yml", text)
    with pytest.raises(ComposeError) as raised:
        load_project([compose])
    assert str(raised.value).startswith(f"{tmp_path}/p/" + message.format(dir=tmp_path))
    assert raised.value.file == compose


def test_a_duplicate_key_anywhere_names_where_it_is(tmp_path: Path) -> None:
    compose = _write(
        tmp_path, "compose.yml", "services:\n  a:\n    environment:\n      A: 1\n      A: 2\n"
    )
    with pytest.raises(
        ComposeError, match=r"compose.yml:5: services.a.environment has the key 'A'"
    ):
        load_project([compose])


def test_a_duplicate_key_in_an_extended_file_names_that_file(tmp_path: Path) -> None:
    _write(tmp_path, "shared/base.yml", "services:\n  b:\n    image: x\n    image: y\n")
    compose = _write(
        tmp_path,
        "p/compose.yml",
        "services:\n  a:\n    extends:\n      file: ../shared/base.yml\n      service: b\n",
    )
    with pytest.raises(
        ComposeError, match=r"shared/base.yml:4: services.b has the key 'image' twice"
    ):
        load_project([compose])


def test_env_file_flags_replace_the_dot_env(tmp_path: Path) -> None:
    compose = _write(tmp_path, "compose.yml", 'services:\n  a:\n    image: "x:${TAG}"\n')
    _write(tmp_path, ".env", "TAG=from-dot-env\n")
    first = _write(tmp_path, "one.env", "TAG=one\nOTHER=1\n")
    second = _write(tmp_path, "two.env", "TAG=two-${OTHER}\n")
    assert load_project([compose]).model.images == ["x:from-dot-env"]
    loaded = load_project([compose], env_files=[first, second])
    assert loaded.model.images == ["x:two-1"]
    assert loaded.project.env_files == (first, second)
    assert [f.relative for f in loaded.carried_files if f.kind == "env"] == ["one.env", "two.env"]
    environ = {"HOME": "/root", "TAG": "from-environ"}
    assert load_project([compose], environ=environ).model.images == ["x:from-environ"]


def test_a_missing_env_file_flag_is_an_error(tmp_path: Path) -> None:
    compose = _write(tmp_path, "compose.yml", "services:\n  a:\n    image: x\n")
    with pytest.raises(ComposeError, match="env file .*/missing.env does not exist"):
        load_project([compose], env_files=[str(tmp_path / "missing.env")])


def test_files_are_read_through_the_given_reader() -> None:
    texts = {
        "/srv/app/compose.yml": "services:\n  a:\n    image: x\n    volumes: [./d:/d]\n",
        "/srv/app/.env": "X=1\n",
    }
    loaded = load_project(["/srv/app/compose.yml"], read=texts.get)
    assert [b.source for b in loaded.model.binds] == ["/srv/app/d"]
    assert dict(loaded.texts) == texts


def test_relative_compose_paths_are_refused() -> None:
    with pytest.raises(ComposeError, match="must be an absolute path"):
        load_project(["compose.yml"])


def test_a_binary_secret_is_carried_unread(tmp_path: Path) -> None:
    compose = _write(
        tmp_path,
        "compose.yml",
        "services:\n  a:\n    image: x\nsecrets:\n  k:\n    file: ./k.bin\n",
    )
    (tmp_path / "k.bin").write_bytes(bytes(range(256)))
    loaded = load_project([compose])
    assert [(f.kind, f.relative, f.exists) for f in loaded.carried_files][-1] == (
        "secret",
        "k.bin",
        True,
    )
    assert str(tmp_path / "k.bin") not in loaded.texts


def test_the_controller_rebuilds_a_project_from_the_texts_it_was_sent(tmp_path: Path) -> None:
    case = PROJECTS / "override_extends_profiles"
    on_source = load_case(case)
    carried = {f.path for f in on_source.carried_files if f.exists}
    rebuilt = load_project(
        on_source.project.files, read=on_source.texts.get, exists=carried.__contains__
    )
    assert render(rebuilt, case) == render(on_source, case)


def test_label_files_are_carried_and_translated(tmp_path: Path) -> None:
    compose = _write(
        tmp_path, "compose.yml", "services:\n  a:\n    image: x\n    label_file: [./a.labels]\n"
    )
    _write(tmp_path, "a.labels", "com.example=1\n")
    loaded = load_project([compose])
    assert [(f.kind, f.relative) for f in loaded.carried_files][-1] == ("label_file", "a.labels")
    assert "label_file" in loaded.required_features
    translation = translate_project(loaded, [(str(tmp_path / "a.labels"), "/mnt/labels")])
    (rewrite,) = [r for r in translation.rewrites if r.location == "services.a.label_file[0]"]
    assert rewrite.after == "/mnt/labels"
    with pytest.raises(ComposeError, match=r"compose.yml:3: label_file .*/b.labels does not exist"):
        load_project(
            [_write(tmp_path, "compose.yml", "services:\n  a:\n    label_file: b.labels\n")]
        )
