"""An embedded controller's socket directory: a killed CLI's is removed by the next CLI, a
live process's never."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from stackferry.controller.socket_dir import make_socket_dir, sweep_dead


def a_dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_the_directories_of_gone_processes_are_removed_and_no_other(tmp_path: Path) -> None:
    dead = tmp_path / f"stackferry-{a_dead_pid()}-abc_1"
    dead.mkdir()
    (dead / "controller.sock").touch()
    live = tmp_path / f"stackferry-{os.getpid()}-def_2"
    live.mkdir()
    older = tmp_path / "stackferry-q_7lwa3o"  # no pid in the name: not ours to judge
    older.mkdir()
    a_file = tmp_path / f"stackferry-{a_dead_pid()}-file"
    a_file.write_text("not a directory")

    assert sweep_dead(tmp_path) == [dead]

    assert not dead.exists()
    assert live.is_dir() and older.is_dir() and a_file.is_file()


def test_a_new_directory_is_private_and_names_this_process() -> None:
    made = make_socket_dir()
    try:
        assert made.name.startswith(f"stackferry-{os.getpid()}-")
        assert made.stat().st_mode & 0o777 == 0o700
        assert sweep_dead(made.parent).count(made) == 0
    finally:
        made.rmdir()
