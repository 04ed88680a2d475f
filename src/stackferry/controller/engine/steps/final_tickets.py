"""The final phase's receive tickets, asked of the target at the end of the bulk step while
the app still runs: one per dataset for its delta from the last live snapshot, one per file
tree for its final pass. After the stop the sends only present them (engine/tickets.py).

Each is issued for TTL_SECONDS plus the stop's own bound, so that it outlives the stop and
the final snapshot; the target checks at issue what it checks for any ticket (its claims,
the base snapshot its dataset holds), so a problem it sees shows before the stop. A
ticket not taken expires on the target.
"""

from __future__ import annotations

from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import live_base_name
from stackferry.controller.engine.context import StepContext
from stackferry.controller.engine.steps.files import target_tree
from stackferry.controller.engine.tickets import files_key, zfs_key

TTL_SECONDS = 900  # beyond the stop asked for (stop_timeout_seconds) and the final snapshot


def prepare_final_tickets(ctx: StepContext) -> None:
    m = ctx.migration
    ttl = TTL_SECONDS + m.spec.options.stop_timeout_seconds
    base = live_base_name(m)
    for d in m.datasets:
        guid = m.snapshot_guid("source", d.source_dataset, base)
        ticket = ctx.target.prepare_zfs_receive(d.target_dataset, guid, ttl=ttl)
        ctx.tickets.put(zfs_key(m, d.target_dataset, guid), ticket, ttl)
    for move in m.files:
        allow = m.spec.options.allow_overwrite
        ticket = ctx.target.prepare_file_receive(target_tree(move), allow, ttl=ttl)
        ctx.tickets.put(files_key(m, move), ticket, ttl)
    count = len(m.datasets) + len(m.files)
    if count:
        ctx.log(
            f"{count} receive tickets of the final phase prepared before the stop "
            f"(good for {ttl} s)",
            Action.BULK_SEND.value,
        )
