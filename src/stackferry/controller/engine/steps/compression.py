"""The wire compression a migration's streams ask for: the one its options name, when both
agents have it (the source encodes, the target decodes), else none. An agent that lacks it
(an older one reports no compressions at all) would refuse the stream's first chunk as
corrupt (DATA_LOSS) after the stream had begun; asking for none instead costs only speed,
and the log says so."""

from __future__ import annotations

from stackferry.controller.engine.context import StepContext


def wire_compression(ctx: StepContext, step: str = "", say: bool = True) -> str:
    """The compression to ask for; with `say`, a fallback to none is logged under `step`."""
    wanted = ctx.migration.spec.options.compression
    if wanted == "none":
        return wanted
    lacking = []
    for side, agent in (("source", ctx.source), ("target", ctx.target)):
        known = agent.info().compressions
        if wanted not in known:
            lacking.append(
                f"the {side} agent {agent.address} has only {', '.join(known) or 'none'}"
            )
    if not lacking:
        return wanted
    if say:
        ctx.log(
            f"compression {wanted} asked for, but {' and '.join(lacking)}: streams go uncompressed",
            step,
        )
    return "none"
