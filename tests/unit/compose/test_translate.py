"""Compose translation: golden files, errors with line numbers, and properties.

Each directory under golden/ is one case: compose.yml (+ optional .env) and
case.yaml (project_dir, map, home, target_project_dir) in; expected.compose.yml,
expected.env and expected.rewrites.txt out. After a deliberate change in behaviour,
regenerate with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/compose/test_translate.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackferry.compose import (
    ComposeError,
    Rewrite,
    Translation,
    load_compose,
    translate_compose,
    unified_diff,
)
from stackferry.compose.paths import PathMap, is_within, normalize

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())


def _run_case(case: Path) -> tuple[str, str, Translation]:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    compose = (case / "compose.yml").read_text()
    env_path = case / ".env"
    env = env_path.read_text() if env_path.exists() else ""
    pairs = [tuple(entry.split("=", 1)) for entry in spec["map"]]
    translation = translate_compose(
        compose,
        env,
        spec["project_dir"],
        [(source, target) for source, target in pairs],
        home=spec.get("home", "/root"),
        target_project_dir=spec.get("target_project_dir"),
    )
    return compose, env, translation


def _report(rewrites: tuple[Rewrite, ...]) -> str:
    return "".join(
        f"{r.location}: {r.kind}{', changed' if r.changed else ''}: "
        f"{r.before} -> {r.after} ({r.reason})\n"
        for r in rewrites
    )


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    case = GOLDEN / name
    _, _, translation = _run_case(case)
    produced = {
        "expected.compose.yml": translation.compose_text,
        "expected.env": translation.env_text,
        "expected.rewrites.txt": _report(translation.rewrites),
    }
    if os.environ.get("UPDATE_GOLDEN"):
        for file_name, text in produced.items():
            (case / file_name).write_text(text)
    for file_name, text in produced.items():
        assert text == (case / file_name).read_text(), f"{name}/{file_name}"


def test_identity_map_is_byte_identical() -> None:
    compose, env, translation = _run_case(GOLDEN / "identity_map")
    assert translation.compose_text == compose
    assert translation.env_text == env
    assert not any(r.changed for r in translation.rewrites)


def test_translated_golden_output_is_valid_yaml_with_the_same_shape() -> None:
    for name in CASES:
        compose, _, translation = _run_case(GOLDEN / name)
        before, after = yaml.safe_load(compose), yaml.safe_load(translation.compose_text)
        assert before.keys() == after.keys(), name
        assert before["services"].keys() == after["services"].keys(), name


def test_variable_rewrite_keeps_the_variable_and_edits_env() -> None:
    translation = translate_compose(
        "services:\n  a:\n    volumes: ['${D}/x:/x']\n",
        "# c\nD=/data/app/d # note\n",
        "/opt",
        [("/data/app", "/t")],
    )
    assert translation.compose_text == "services:\n  a:\n    volumes: ['${D}/x:/x']\n"
    assert translation.env_text == "# c\nD=/t/d # note\n"
    env_rewrite = [r for r in translation.rewrites if r.location == ".env:D"]
    assert env_rewrite and env_rewrite[0].before == "/data/app/d" and env_rewrite[0].after == "/t/d"


def test_shared_variable_that_would_move_an_unmapped_path_is_reported() -> None:
    translation = translate_compose(
        "services:\n  a:\n    volumes:\n      - ${D}:/x\n      - ${D}/../other:/o\n",
        "D=/data/app\n",
        "/opt",
        [("/data/app", "/t/app")],
    )
    bad = translation.untranslatable
    assert [r.location for r in bad] == ["services.a.volumes[1]"]
    assert "services.a.volumes[0]" in bad[0].reason


def test_unified_diff() -> None:
    assert unified_diff("a\n", "a\n", "x.yml") == ""
    diff = unified_diff("a\nb", "a\nc", "x.yml")
    assert diff.startswith("--- a/x.yml\n+++ b/x.yml\n")
    assert "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n" in diff


@pytest.mark.parametrize(
    ("compose", "line", "message"),
    [
        ("services:\n  a:\n\timage: x\n", 3, "not valid YAML"),
        ("services:\n  a: [\n", 3, "not valid YAML"),
        ("- a\n- b\n", 1, "mapping at the top level"),
        ("services: {}\n---\nservices: {}\n", 2, "not valid YAML"),
        ("version: '3'\nservices:\n  - a\n", 3, "services must be a mapping"),
        ("services:\n  web: nginx\n", 2, "services.web must be a mapping"),
        ("services:\n  web:\n    volumes: /a:/b\n", 3, "services.web.volumes must be a list"),
        ("services:\n  web:\n    volumes:\n      - ${A:/b\n", 4, "invalid interpolation"),
        ("services:\n  web:\n    volumes:\n      - $/a:/b\n", 4, "invalid interpolation"),
        ("services:\n  w: {}\n  w: {}\n", 3, "key 'w' twice"),
        (
            "services:\n  w:\n    volumes:\n      - type: bind\n        target: /t\n",
            4,
            "without source",
        ),
        ("services:\n  w:\n    env_file: {a: b}\n", 3, "string or a list"),
        ("volumes: {}\n", 1, "no services"),
        ("services:\n  w:\n    volumes:\n      - [a]\n", 4, "must be a mapping"),
    ],
)
def test_errors_name_the_line(compose: str, line: int, message: str) -> None:
    with pytest.raises(ComposeError, match=message) as raised:
        translate_compose(compose, "", "/p", [])
    assert raised.value.line == line
    assert str(raised.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("path_map", "project_dir", "message"),
    [
        ([("data", "/t")], "/p", "must be absolute"),
        ([("/a", "/t"), ("/a/", "/u")], "/p", "maps /a twice"),
        ([], "relative/dir", "project directory must be an absolute path"),
    ],
)
def test_bad_arguments(path_map: list[tuple[str, str]], project_dir: str, message: str) -> None:
    with pytest.raises(ComposeError, match=message):
        translate_compose("services: {}\n", "", project_dir, path_map)


def test_empty_compose_file_is_an_error() -> None:
    with pytest.raises(ComposeError, match="empty"):
        translate_compose("# nothing\n", "", "/p", [])


# Properties: documents built from pieces the golden cases cover, in random combinations.

_COMPONENT = st.sampled_from(["data", "app", "apple", "db", "a b", "x.y", "u-1", "..", "."])
_ABS = st.lists(_COMPONENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_VAR = st.sampled_from(["D", "E", "F"])


@st.composite
def _host_path(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["abs", "rel", "home", "var", "default", "named"]))
    tail = draw(_ABS)
    if kind == "abs":
        return tail
    if kind == "rel":
        return "." + tail
    if kind == "home":
        return "~" + tail
    if kind == "var":
        return "${" + draw(_VAR) + "}" + draw(st.sampled_from(["", tail]))
    if kind == "default":
        return "${" + draw(_VAR) + ":-" + draw(_ABS) + "}" + draw(st.sampled_from(["", tail]))
    return draw(st.sampled_from(["vol", "cache"]))


@st.composite
def _stack(draw: st.DrawFn) -> tuple[str, str]:
    lines = ["# generated\nservices:\n"]
    for service in range(draw(st.integers(1, 3))):
        lines.append(f"  s{service}:\n    image: local/busybox:1\n    volumes:\n")
        for host in draw(st.lists(_host_path(), min_size=1, max_size=4)):
            style = draw(st.sampled_from(["plain", "single", "double", "long"]))
            entry = f"{host}:/c{len(lines)}" + draw(st.sampled_from(["", ":ro"]))
            if style == "long" and not host.startswith(("v", "c")):
                lines.append(f"      - type: bind\n        source: '{host}'\n        target: /t\n")
            elif style == "double" or " " in entry:
                lines.append(f'      - "{entry}"  # a comment\n')
            elif style == "single":
                lines.append(f"      - '{entry}'\n")
            else:
                lines.append(f"      - {entry}\n")
    env = "".join(
        f"{name}={draw(_ABS.filter(lambda p: ' ' not in p))}\n"
        for name in draw(st.lists(_VAR, unique=True))
    )
    return "".join(lines), "# env\n" + env


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_PROJECT = "/data/app/proj"


@_SETTINGS
@given(stack=_stack(), sources=st.lists(_ABS, max_size=4), home=st.sampled_from(["/root", "/data"]))
def test_identity_map_changes_nothing(
    stack: tuple[str, str], sources: list[str], home: str
) -> None:
    compose, env = stack
    translation = translate_compose(compose, env, _PROJECT, [(s, s) for s in sources], home=home)
    assert translation.compose_text == compose
    assert translation.env_text == env


_TARGET_ROOT = st.sampled_from(["/mig", "/mnt/new disk", "/t/$x", "/t/it's"])


@_SETTINGS
@given(
    stack=_stack(),
    sources=st.lists(_ABS, min_size=1, max_size=4, unique=True),
    root=_TARGET_ROOT,
)
def test_translation_moves_every_bind_and_is_idempotent(
    stack: tuple[str, str], sources: list[str], root: str
) -> None:
    compose, env = stack
    sources = list(dict.fromkeys(normalize(s) for s in sources))
    path_map = [(s, root + s) for s in sources]
    once = translate_compose(compose, env, _PROJECT, path_map, home="/home/u")
    if once.untranslatable:
        return
    # The result reads back, on the target, as the source binds moved through the map.
    mapped = {s: t for s, t in path_map}
    expected = [
        (b.service, _through(mapped, b.source), b.target)
        for b in load_compose(compose, env, _PROJECT, home="/home/u").binds
    ]
    moved = load_compose(once.compose_text, once.env_text, once.target_project_dir, home="/home/u")
    got = [(b.service, b.source, b.target) for b in moved.binds]
    assert got == expected
    # Once no target lies under a source, nothing is left to move the second time.
    if not any(is_within(normalize(target), s) for _, target in path_map for s in sources):
        twice = translate_compose(
            once.compose_text, once.env_text, once.target_project_dir, path_map, home="/home/u"
        )
        assert (twice.compose_text, twice.env_text) == (once.compose_text, once.env_text)


def _through(mapped: dict[str, str], path: str) -> str:
    return PathMap.of(list(mapped.items())).translate(path)


def test_block_scalar_path_is_reported_not_rewritten() -> None:
    compose = "services:\n  a:\n    volumes:\n      - >-\n        /data/app:/x\n"
    translation = translate_compose(compose, "", "/p", [("/data/app", "/t")])
    assert translation.compose_text == compose
    assert [r.location for r in translation.untranslatable] == ["services.a.volumes[0]"]
    assert "block scalar" in translation.untranslatable[0].reason


def test_flow_sequence_quotes_what_plain_flow_cannot_hold() -> None:
    compose = "services:\n  a: {volumes: [/data/app:/x, /data/b:/b]}\n"
    translation = translate_compose(compose, "", "/p", [("/data/app", "/t/{x}")])
    assert translation.compose_text == "services:\n  a: {volumes: ['/t/{x}:/x', /data/b:/b]}\n"
    assert yaml.safe_load(translation.compose_text)["services"]["a"]["volumes"][0] == "/t/{x}:/x"
