"""When the driver runs a failed step again: a setting of ControllerService.

An agent that restarts (systemd's Restart= with a few seconds of delay, a slow host) is gone
for a while and then back; the driver keeps trying it for a window of time, pausing longer
each time, instead of a fixed number of attempts that a restart outlasts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from stackferry.controller.errors import ControllerError


class Wakeup(Protocol):
    """What ends a pause early: the driver's interruption (a cancel, a shutdown)."""

    def is_set(self) -> bool: ...

    def wait(self, seconds: float) -> bool: ...


class Clock(Protocol):
    """The time the retry window is measured in, and the pause between attempts."""

    def now(self) -> float: ...

    def pause(self, seconds: float, wakeup: Wakeup) -> bool:
        """Waits `seconds`; True when `wakeup` was set meanwhile (the pause ended early)."""
        ...


class MonotonicClock:
    """The real one."""

    def now(self) -> float:
        return time.monotonic()

    def pause(self, seconds: float, wakeup: Wakeup) -> bool:
        return wakeup.wait(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """A transient error (an agent that cannot be reached: Unavailable) is tried again for
    `window_seconds` from the first one, with pauses that start at `pause_seconds` and double
    up to `max_pause_seconds`; the last attempt is made when the window ends. A step is
    idempotent, so running it again is safe. Any other error fails the step at once: it would
    fail again."""

    window_seconds: float = 90.0
    pause_seconds: float = 1.0
    max_pause_seconds: float = 10.0
    clock: Clock = field(default_factory=MonotonicClock, compare=False)

    def __post_init__(self) -> None:
        if self.window_seconds < 0:
            raise ValueError(f"window_seconds must not be negative, not {self.window_seconds}")
        if self.pause_seconds <= 0:
            raise ValueError(f"pause_seconds must be positive, not {self.pause_seconds}")
        if self.max_pause_seconds < self.pause_seconds:
            raise ValueError("max_pause_seconds must not be below pause_seconds")

    @staticmethod
    def is_transient(error: Exception) -> bool:
        return isinstance(error, ControllerError) and error.transient

    def next_pause(self, attempt: int, waited: float) -> float | None:
        """Seconds to pause after attempt number `attempt` (from 1) failed, `waited` seconds
        after the first failure of the step; None once the window is spent."""
        if waited >= self.window_seconds:
            return None
        backoff = self.pause_seconds * 2 ** min(attempt - 1, 32)
        return min(backoff, self.max_pause_seconds, self.window_seconds - waited)
