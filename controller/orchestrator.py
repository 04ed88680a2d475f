"""Drives one migration through the state machine (being written)."""

from __future__ import annotations


class Planner:
    pass


class Orchestrator:
    pass
