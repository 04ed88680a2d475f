"""Pure parsers of zfs output: usage text -> features, `send -nvP` -> size, `get -Hp` rows.

Features are read from the usage text each zfs prints for a command given no operands,
because zfs-fuse 0.7 (`send [-RDp] [-[iI] snapshot]`, `receive [-vnF]`) and OpenZFS 2.x
(`send [-DLPbcehnpsvw] ...`, `receive [-FhMnsuv] ...`) differ and neither has a
capability query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_FLAG_GROUP = re.compile(r"\[-([A-Za-z]+)\]")


@dataclass(frozen=True)
class ZfsFeatures:
    send_estimate: bool = False  # send -nvP
    resume: bool = False  # receive -s and send -t
    compressed: bool = False  # send -c
    raw: bool = False  # send -w
    receive_unmounted: bool = False  # receive -u
    holds: bool = False  # zfs hold / release
    multi_snapshot: bool = False  # zfs snapshot a@s b@s ... in one call

    def as_dict(self) -> dict[str, bool]:
        return {k: bool(v) for k, v in self.__dict__.items()}


def _command_lines(usage: str, command: str) -> list[str]:
    """The usage lines of one command, continuation lines joined to the line they continue."""
    lines: list[str] = []
    for raw in usage.splitlines():
        stripped = raw.strip()
        if stripped.startswith(command + " ") or stripped == command:
            lines.append(stripped)
        elif lines and stripped.startswith(("[", "<")) and raw.startswith(("\t ", "    ", "\t\t")):
            lines[-1] += " " + stripped
    return lines


def _flags(lines: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for line in lines:
        for group in _FLAG_GROUP.findall(line):
            found.update(group)
    return found


def parse_features(
    send_usage: str, receive_usage: str, snapshot_usage: str, hold_usage: str
) -> ZfsFeatures:
    send_lines = _command_lines(send_usage, "send")
    receive_lines = _command_lines(receive_usage, "receive")
    snapshot_lines = _command_lines(snapshot_usage, "snapshot")
    send_flags = _flags(send_lines)
    receive_flags = _flags(receive_lines)
    send_token = any(re.search(r"(^|\s)-t\s", line) for line in send_lines)
    return ZfsFeatures(
        send_estimate={"n", "v", "P"} <= send_flags,
        resume=send_token and "s" in receive_flags,
        compressed="c" in send_flags,
        raw="w" in send_flags,
        receive_unmounted="u" in receive_flags,
        holds=bool(_command_lines(hold_usage, "hold")),
        multi_snapshot=any(line.rstrip().endswith("...") for line in snapshot_lines),
    )


def parse_estimate(output: str) -> int | None:
    """The total of `zfs send -nvP`: its last `size<TAB>N` line (OpenZFS), else None."""
    size = None
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "size" and parts[1].isdigit():
            size = int(parts[1])
    return size


def parse_resume_toname(output: str) -> str:
    """The snapshot a resume token continues: the `toname = pool/ds@snap` line that OpenZFS's
    `zfs send -nvP -t TOKEN` prints among the token's contents; "" when absent."""
    match = re.search(r"^\s*toname = (\S+)\s*$", output, re.MULTILINE)
    return match.group(1) if match else ""


def parse_properties(output: str) -> dict[str, dict[str, str]]:
    """Rows of `zfs get -Hp -o name,property,value` -> {name: {property: value}} in order."""
    table: dict[str, dict[str, str]] = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            table.setdefault(parts[0], {})[parts[1]] = parts[2]
    return table


def parse_pool_version(output: str) -> str:
    match = re.search(r"pool version (\d+)", output)
    return f"pool version {match.group(1)}" if match else ""


def to_int(value: str) -> int:
    """zfs prints "-" for a property that does not apply."""
    return int(value) if value.isdigit() else 0
