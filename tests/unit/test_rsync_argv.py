"""Both ends' rsync command lines (agent/files/rsync_argv.py), held against the installed
rsync: the command its client asks the remote shell to run must be the server's argv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.files import rsync_argv

CAPTURE = """\
import sys
with open(sys.argv[1], "w") as out:
    out.write("\\0".join(sys.argv[3:]))
sys.exit(1)
"""


@pytest.mark.parametrize("checksum", [False, True])
def test_the_client_asks_for_exactly_the_server_command(tmp_path: Path, checksum: bool) -> None:
    capture, asked = tmp_path / "capture.py", tmp_path / "asked"
    capture.write_text(CAPTURE)
    (tmp_path / "src").mkdir()
    argv = rsync_argv.client_argv(
        str(tmp_path / "src"), [sys.executable, str(capture), str(asked)], checksum
    )
    subprocess.run(argv, capture_output=True, check=False, timeout=30)
    assert asked.read_text().split("\0") == rsync_argv.expected_remote_command(checksum)


def test_only_a_checked_absolute_directory_is_variable() -> None:
    argv = rsync_argv.server_argv("/srv/data", checksum=False)
    assert argv[-1] == "/srv/data/"
    assert argv[:-1] == rsync_argv.expected_remote_command(False)[:-1]
    for bad in ("relative/dir", "-e sh", "/with\0nul"):
        with pytest.raises(InvalidArgument):
            rsync_argv.server_argv(bad)
        with pytest.raises(InvalidArgument):
            rsync_argv.client_argv(bad, ["shim"])


def test_the_version_is_read_from_rsync_version() -> None:
    assert rsync_argv.parse_version("rsync  version 3.2.7  protocol version 31\n") == "3.2.7"
    assert rsync_argv.parse_version("not rsync") == ""
