"""How the CLI shows where a migration's downtime went, what moved by kind, and the converge
rounds (the record's DowntimeBreakdown, MovedBytes, ConvergeRound). output.py imports it
where it prints (this module uses output's byte formatting)."""

from __future__ import annotations

from collections.abc import Sequence

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli.output import human_bytes


def moved_text(total: int, moved: pb.MovedBytes) -> str:
    """'1.0 GiB (zfs 1.0 GiB, files 20 KiB, images 0 B)': the bytes the target received."""
    kinds = ", ".join(
        f"{kind} {human_bytes(getattr(moved, kind))}" for kind in ("zfs", "files", "images")
    )
    return f"{human_bytes(total)} ({kinds})"


def rounds_text(rounds: Sequence[pb.ConvergeRound]) -> str:
    """'2: 20.0 MiB in 1.2 s, 1.9 MiB in 0.3 s', or 'none'."""
    if not rounds:
        return "none"
    each = ", ".join(f"{human_bytes(r.bytes)} in {r.seconds:.1f} s" for r in rounds)
    return f"{len(rounds)}: {each}"


def breakdown_lines(d: pb.DowntimeBreakdown) -> list[str]:
    """The parts of the downtime, the floor and the overhead, one line each."""
    parts = [
        ("stop", d.stop_seconds),
        ("final snapshot", d.final_snapshot_seconds),
        ("final transfer", d.final_transfer_seconds),
        ("deploy", d.deploy_seconds),
        ("start to healthy", d.start_to_healthy_seconds),
    ]
    lines = [f"{name:<17}{seconds:7.2f} s" for name, seconds in parts]
    rate = d.link_rate_bytes_per_second
    lines.append(
        f"{'floor':<17}{d.floor_seconds:7.2f} s  (stop + {human_bytes(d.final_delta_bytes)} "
        f"at {human_bytes(rate)}/s + start to healthy)"
    )
    lines.append(f"{'overhead':<17}{d.overhead_seconds:7.2f} s  (downtime - floor)")
    lines.append(f"spans: {d.spans}")
    return lines
