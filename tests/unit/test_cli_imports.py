"""The CLI is a client of the controller's API: a command given --controller must not pull in
the controller (SQLAlchemy, Alembic, the migration engine); only embedded mode does."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "stackferry.controller", "stackferry.agent")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def test_importing_the_cli_loads_neither_controller_nor_agent() -> None:
    loaded = loaded_after("import stackferry.cli.main")
    assert "stackferry.cli.main" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_a_command_against_a_remote_controller_loads_no_controller_code() -> None:
    # No controller listens on port 1: the command fails fast, after the client code has run.
    loaded = loaded_after(
        "from stackferry.cli.main import main\n"
        "try:\n"
        "    main(['--controller', '127.0.0.1:1', '--insecure', 'list'])\n"
        "except SystemExit:\n"
        "    pass"
    )
    assert "stackferry.api.controller.v1.controller_pb2_grpc" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_embedded_mode_is_what_loads_the_controller() -> None:
    loaded = loaded_after("from stackferry.controller.embedded import EmbeddedController")
    assert "sqlalchemy" in loaded
