"""The two pipes of a zfs transfer, `zfs send` as a ByteSource and `zfs receive` as a
ByteSink: the child-process pipes of agent/process_pipes.py with what is zfs's own.

A failure becomes a typed error from zfs's stderr. The receive side knows what the target
looked like before it started, so an abort can put it back: zfs-fuse leaves a
half-received new dataset behind when its receiver is killed, and a receive that completed
just before an abort has already added a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from stackferry.agent import errors, exec
from stackferry.agent.process_pipes import ProcessSink, ProcessSource
from stackferry.agent.storage.zfs_errors import zfs_error
from stackferry.agent.streams import Received

log = structlog.get_logger(__name__)

# After EOF zfs cleans up a partial receive itself; zfs-fuse's daemon needs the time.
_EOF_GRACE_SECONDS = 10.0


def zfs_send_source(argv: list[str], what: str) -> ProcessSource:
    """`zfs send ...` running; ``what`` names the stream in its errors."""
    return ProcessSource(
        exec.spawn(argv, stdout=True), failure=lambda exc: zfs_error(exc, f"zfs send {what}")
    )


@dataclass
class ReceivePlan:
    """What open_receive found and did before starting the receiver."""

    target: str
    full: bool  # a full stream into a dataset that did not exist
    snapshots_before: dict[str, str]  # name -> guid on the target
    created_parents: list[str] = field(default_factory=list)  # shallowest first
    resumable: bool = False  # receive -s: an abort keeps the partial state for send -t
    migration_id: str = ""  # what a full receive creates is marked with it


def zfs_receive_sink(
    argv: list[str],
    plan: ReceivePlan,
    settle: Callable[[ReceivePlan], Received],
    undo: Callable[[ReceivePlan], None],
) -> ProcessSink:
    """`zfs receive ...` running: ``settle`` names what it received, ``undo`` puts the
    target back as it was after an abort (a failed undo is logged: abort never raises)."""

    def undo_or_log() -> None:
        try:
            undo(plan)
        except errors.AgentError as exc:
            log.error("aborted receive not cleaned up", target=plan.target, error=str(exc))

    return ProcessSink(
        exec.spawn(argv, stdin=True),
        on_commit=lambda: settle(plan),
        on_abort=undo_or_log,
        failure=lambda exc: zfs_error(exc, f"zfs receive {plan.target}"),
        abort_grace=_EOF_GRACE_SECONDS,
    )
