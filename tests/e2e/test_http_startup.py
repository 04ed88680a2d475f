"""A controller whose HTTP API cannot be served stops at start with a message naming why, and
exit status 2, instead of serving gRPC alone."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from migration_world import REPO

PYTHON = REPO / ".venv" / "bin" / "python"


def controller(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    argv = [str(PYTHON), "-m", "stackferry.controller", "--listen", "127.0.0.1:0", "--insecure"]
    argv += ["--state-dir", str(tmp_path / "state"), *flags]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = controller(tmp_path, "--http-listen", f"127.0.0.1:{port}")
    assert run.returncode == 2, run.stderr
    assert f"http_listen 127.0.0.1:{port}" in run.stderr and "in use" in run.stderr


def test_a_missing_or_empty_token_file(tmp_path: Path) -> None:
    missing = controller(
        tmp_path, "--http-listen", "127.0.0.1:0", "--http-token-file", str(tmp_path / "none")
    )
    assert missing.returncode == 2 and "No such file" in missing.stderr, missing.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    run = controller(tmp_path, "--http-listen", "127.0.0.1:0", "--http-token-file", str(empty))
    assert run.returncode == 2 and f"{empty} is empty" in run.stderr, run.stderr


def test_plaintext_off_loopback_without_a_token(tmp_path: Path) -> None:
    run = controller(tmp_path, "--http-listen", "0.0.0.0:0")
    assert run.returncode == 2
    assert "configuration error" in run.stderr and "not loopback" in run.stderr
