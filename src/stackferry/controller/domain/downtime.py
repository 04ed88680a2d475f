"""Where a migration's downtime went, and how far it is above the floor.

The downtime spans SPANS. Its parts come from the steps the engine recorded (stop, final
snapshot, final transfer) and from what the target agent measured of its deploy (compose up,
then up done -> every service first seen ready). The floor is what any way of moving the app
must pay: the app's own stop time, the final delta at the link rate measured while the app
ran (the bulk pass and the converge rounds), and the app's own start-to-healthy time;
overhead = downtime - floor is what stackferry itself costs.
"""

from __future__ import annotations

from dataclasses import dataclass

SPANS = (
    "from the source stop being requested to every target service first seen running "
    "(and healthy where it has a healthcheck); the settle watch and verify after it are not "
    "counted"
)

# The kinds of stream whose bytes the target agents receive (Migration.moved_bytes keys).
MOVED_KINDS = ("zfs", "files", "images")


@dataclass(frozen=True)
class ConvergeRound:
    """One incremental pass while the app ran: its delta (bytes) and how long it took."""

    round: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class DowntimeBreakdown:
    """The parts add up to the downtime: each step ends when the next one starts (the
    machine closes one and opens the next at the same moment)."""

    downtime_seconds: float = 0.0
    stop_seconds: float = 0.0
    final_snapshot_seconds: float = 0.0
    final_transfer_seconds: float = 0.0
    deploy_seconds: float = 0.0  # deploy step start -> compose up done (mounts, start)
    start_to_healthy_seconds: float = 0.0  # compose up done -> every service first ready
    final_delta_bytes: int = 0
    # The streams before the stop (bulk pass, converge rounds): their bytes and seconds.
    live_bytes: int = 0
    live_seconds: float = 0.0

    @property
    def link_rate_bytes_per_second(self) -> float:
        return self.live_bytes / self.live_seconds if self.live_seconds > 0 else 0.0

    @property
    def floor_seconds(self) -> float:
        transfer = (
            self.final_delta_bytes / self.link_rate_bytes_per_second
            if self.link_rate_bytes_per_second > 0
            else 0.0
        )
        return self.stop_seconds + transfer + self.start_to_healthy_seconds

    @property
    def overhead_seconds(self) -> float:
        return self.downtime_seconds - self.floor_seconds

    def parts(self) -> list[tuple[str, float]]:
        """The named parts in the order they happen, for people."""
        return [
            ("stop", self.stop_seconds),
            ("final snapshot", self.final_snapshot_seconds),
            ("final transfer", self.final_transfer_seconds),
            ("deploy", self.deploy_seconds),
            ("start to healthy", self.start_to_healthy_seconds),
        ]


@dataclass(frozen=True)
class ConvergePolicy:
    """When the converge rounds before the stop end (defaults documented in operations.md):
    the last delta would take less than `target_seconds` at the measured rate, or it did not
    shrink, or `max_rounds` ran. max_rounds 0: no rounds (the final delta follows the bulk)."""

    max_rounds: int = 5
    target_seconds: float = 1.0

    def done(self, rounds: list[ConvergeRound], rate: float) -> str:
        """Why the rounds end after `rounds` ("" when another one should run)."""
        if len(rounds) >= self.max_rounds:
            return f"{self.max_rounds} rounds run"
        if not rounds:
            return ""
        last = rounds[-1]
        if rate > 0 and last.bytes / rate < self.target_seconds:
            return (
                f"the last delta ({last.bytes} bytes) takes under {self.target_seconds:g} s "
                "at the measured rate"
            )
        if len(rounds) >= 2 and last.bytes >= rounds[-2].bytes:
            return "the delta stopped shrinking"
        return ""
