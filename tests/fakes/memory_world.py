"""The FAKE world the fault matrices run in: two fake hosts (tests/fakes/memory_agent.py) on
one network, the fake time both keep, and the Dialer that reaches them by address."""

from __future__ import annotations

from collections.abc import Mapping

from fakes.memory_agent import BindableAgent, MemoryAgent
from fakes.memory_host import FakeClock, FakeHost
from stackferry.controller.errors import ControllerError, Unavailable
from stackferry.controller.ports import AgentClient
from stackferry.hostapi import AgentPing

SOURCE = "source:7701"
TARGET = "target:7701"


class FakeWorld:
    """Two fake hosts on one network, `source` (datasets under `tank`) and `target` (under
    `dst`), and the fake time of both; `history` holds (source stack running, target stack
    running) after every change of either, and a change that has the stack running on both
    fails at once (AssertionError where it happens) besides being recorded."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.history: list[tuple[bool, bool]] = []
        self.source = MemoryAgent(self, FakeHost(SOURCE, "source", "tank"))
        self.target = MemoryAgent(self, FakeHost(TARGET, "target", "dst"))

    def host(self, address: str) -> MemoryAgent:
        """The agent a stream to `address` reaches; Unavailable when it is down."""
        for agent in (self.source, self.target):
            if agent.address == address:
                agent._reach()
                return agent
        raise Unavailable(f"no agent at {address}")

    def changed(self) -> None:
        now = (self.source.stack_running, self.target.stack_running)
        self.history.append(now)
        assert not all(now), f"the stack runs on both hosts: {self.history}"

    @property
    def ran_on_both(self) -> bool:
        return any(source and target for source, target in self.history)


class FakeDialer:
    """The controller's Dialer (controller/ports.py) over in-memory clients by address:
    MemoryAgents, or Faulty wrappers of them (tests/fakes/faults.py)."""

    def __init__(self, agents: Mapping[str, BindableAgent]) -> None:
        self.agents = dict(agents)

    def dial(self, address: str, migration_id: str = "") -> AgentClient:
        agent = self.agents.get(address)
        if agent is None:
            raise Unavailable(f"no agent at {address}", address)
        return agent.bound(migration_id)

    def ping(self, address: str) -> AgentPing:
        try:
            info = self.dial(address).info()
        except ControllerError as exc:
            return AgentPing(address, reachable=False, error=str(exc))
        return AgentPing.reached(address, info)

    def close(self) -> None:
        """Nothing to close: no channels."""
