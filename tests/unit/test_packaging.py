"""What `pip install .` installs: one top-level package, `stackferry`, with the data files the
daemons read at run time, and entry points that name real functions. Built from a copy of the
tree, so the test writes nothing into the checkout (setuptools leaves build/ behind)."""

from __future__ import annotations

import configparser
import importlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build_wheel(tmp_path: Path) -> zipfile.ZipFile:
    """`pip wheel` of a copy of what `pip install .` reads: pyproject.toml, README.md, src/."""
    tree = tmp_path / "tree"
    shutil.copytree(
        REPO / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, tree / name)
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(tree),
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("stackferry-*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_installs_one_top_level_package_with_its_data(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = wheel.namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"stackferry"}
    for data in (
        "stackferry/py.typed",
        "stackferry/controller/store/alembic.ini",
        "stackferry/controller/store/alembic/script.py.mako",
        "stackferry/controller/store/alembic/versions/v0001_initial_schema.py",
        "stackferry/controller/store/alembic/versions/v0002_typed_event_progress.py",
        "stackferry/controller/store/alembic/versions/v0003_waiting_for_agent.py",
        "stackferry/controller/store/alembic/versions/v0004_file_moves.py",
        "stackferry/api/agent/v1/agent_pb2.pyi",
        "stackferry/api/controller/v1/controller_pb2.pyi",
        "stackferry/controller/http/static/index.html",
        "stackferry/controller/http/static/app.js",
        "stackferry/controller/http/static/style.css",
    ):
        assert data in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = configparser.ConfigParser()
    scripts.read_string(wheel.read(entry_points).decode())
    commands = dict(scripts["console_scripts"])
    assert set(commands) == {"stackferry", "stackferry-agent", "stackferry-controller"}
    for target in commands.values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
