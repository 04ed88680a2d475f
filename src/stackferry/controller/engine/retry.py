"""When the driver runs a failed step again: a setting of ControllerService."""

from __future__ import annotations

from dataclasses import dataclass

from stackferry.controller.errors import Unavailable


@dataclass(frozen=True)
class RetryPolicy:
    """An agent that cannot be reached (Unavailable) is tried `attempts` times in all, with
    a pause of `pause_seconds` times the attempt number in between; a step is idempotent, so
    running it again is safe. Any other error fails the step at once: it would fail again."""

    attempts: int = 3
    pause_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {self.attempts}")
        if self.pause_seconds < 0:
            raise ValueError(f"pause_seconds must not be negative, not {self.pause_seconds}")

    def should_retry(self, error: Exception, attempt: int) -> bool:
        """Whether attempt number `attempt` (from 1), which raised `error`, gets another."""
        return isinstance(error, Unavailable) and attempt < self.attempts

    def pause(self, attempt: int) -> float:
        """Seconds to wait after attempt number `attempt` failed."""
        return self.pause_seconds * attempt
