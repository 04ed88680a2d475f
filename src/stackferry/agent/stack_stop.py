"""Stopping a stack the way compose stops it: service by service, dependents first (depends_on
reversed), each service's containers given their own grace period (stop_grace_period) unless the
caller passes one timeout for all. No grpc here.

Stopping through the engine rather than `compose stop` keeps this the same for Compose v1
(whose `stop -t N` applies one N to every service) and v2, and tells which containers were
still running when their grace ran out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.hostapi import StopOutcome

# A container in one of these states has a process the stop must end.
_LIVE_STATES = frozenset({"running", "restarting", "paused"})


def stop_sequence(stop_order: Sequence[str], live: set[str]) -> list[str]:
    """The live services in stop order; one the compose model does not name (an orphan of an
    older file) goes first, as nothing known depends on it."""
    orphans = sorted(live - set(stop_order))
    return orphans + [s for s in stop_order if s in live]


def stop_project(
    runtime: ContainerRuntime, project: str, stop_order: Sequence[str], timeout: float | None
) -> tuple[float, tuple[StopOutcome, ...]]:
    """Stops every live container of `project`; the seconds it took and how each service
    stopped. `timeout` None: each container's own grace period."""
    started = time.monotonic()
    live = {c.service for c in runtime.project_containers(project) if c.state in _LIVE_STATES}
    outcomes = tuple(
        runtime.stop_service(project, service, timeout)
        for service in stop_sequence(stop_order, live)
    )
    return time.monotonic() - started, outcomes
