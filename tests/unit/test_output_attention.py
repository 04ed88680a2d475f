"""cli/output.py: a migration that NEEDS_ATTENTION says what is known of each host and what to
run; the agent the controller waits for is shown in status, in the record and while following."""

from __future__ import annotations

import io

from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import output

WAITING = "waiting for agent b:7701 (attempt 3, next in 4 s)"


def printed(show: object, message: object) -> str:
    buffer = io.StringIO()
    show(Console(file=buffer, width=240, color_system=None), message)  # type: ignore[operator]
    return buffer.getvalue()


def test_the_summary_of_a_migration_that_needs_attention_says_what_to_run() -> None:
    error = (
        "rollback: target agent b:7701 unreachable: the stack may run there. "
        "Check it, then run `stackferry resume m1`"
    )
    migration = pb.Migration(
        id="m1",
        state=pb.NEEDS_ATTENTION,
        project_name="web",
        spec=pb.MigrationSpec(source_agent="a:7701", target_agent="b:7701"),
        error=error,
    )
    text = printed(output.print_summary, migration)
    assert "migration m1 needs_attention" in text
    assert "stack web is stopped on a:7701; whether it runs on b:7701 is not known" in text
    assert "`stackferry resume m1`" in text
    # Following stops there: the engine does nothing more until a person resumes it.
    assert pb.NEEDS_ATTENTION in output.TERMINAL_STATES


def test_the_agent_waited_for_is_shown_in_status_record_and_progress() -> None:
    status = pb.MigrationStatus(id="m1", state=pb.DEPLOYING, current_step="deploy", waiting=WAITING)
    assert WAITING in printed(output.print_status, status)
    migration = pb.Migration(id="m1", state=pb.DEPLOYING, waiting=WAITING)
    assert WAITING in printed(output.print_migration, migration)

    buffer = io.StringIO()
    follow = output.LiveProgress(Console(file=buffer, width=240, color_system=None))
    with follow:
        follow.update(migration, status)
    assert WAITING in buffer.getvalue()
    assert WAITING not in printed(output.print_status, pb.MigrationStatus(id="m1"))
