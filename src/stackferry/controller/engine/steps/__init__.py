"""The step functions, one per Action of domain/machine.py. Each gets a StepContext and is
idempotent: the driver runs it again after a restart, a lost agent or a cut stream."""

from __future__ import annotations

from collections.abc import Callable

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import StepContext
from stackferry.controller.engine.steps import prepare, send, switch, undo

STEPS: dict[Action, Callable[[StepContext], None]] = {
    Action.VALIDATE: prepare.validate,
    Action.SNAPSHOT: prepare.snapshot,
    Action.BULK_SEND: send.bulk_send,
    Action.STOP_SOURCE: switch.stop_source,
    Action.FINAL_SNAPSHOT: prepare.final_snapshot,
    Action.INCREMENTAL_SEND: send.incremental_send,
    Action.DEPLOY: switch.deploy,
    Action.VERIFY: switch.verify,
    Action.CLEANUP: undo.cleanup,
    Action.ROLLBACK: undo.rollback,
    Action.DISCARD: undo.discard,
    Action.ROLLBACK_AND_DISCARD: undo.rollback,  # the rollback discards what it made too
}
