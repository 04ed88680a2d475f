"""The controller's gRPC deadline for a deploy exceeds the agent's own bound for it, with a
margin: a deploy whose deadline passed is retried, and a retry while the first still runs
would be a second compose up racing the rollback. The bound is the agent's (agent/stacks.py),
spelled once in hostapi.py."""

from __future__ import annotations

import pytest

from stackferry import hostapi
from stackferry.agent import stacks
from stackferry.controller.agents import deploy_deadline


def test_the_agent_deploys_within_the_bound_hostapi_names() -> None:
    assert stacks.DEFAULT_WAIT_SECONDS == hostapi.DEPLOY_DEFAULT_WAIT_SECONDS
    assert stacks.DOWN_AFTER_FAILURE == hostapi.DEPLOY_DOWN_SECONDS


@pytest.mark.parametrize("wait", [0, 1, 60, 300, 3600])
def test_the_deploy_deadline_exceeds_the_agents_bound_with_a_margin(wait: int) -> None:
    # up + wait within `wait` (the default for 0), then the compose down of a failed deploy
    bound = (wait or stacks.DEFAULT_WAIT_SECONDS) + stacks.DOWN_AFTER_FAILURE
    assert hostapi.deploy_bound_seconds(wait) == bound
    assert deploy_deadline(wait) >= bound + 30
